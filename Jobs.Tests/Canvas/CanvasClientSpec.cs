using Jobs.Actors.Canvas;
using Jobs.Actors.Client;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Canvas;

/// <summary>The C# side: signatures built fluently, sent through a node's clients in this process.</summary>
public sealed class CanvasClientSpec : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = InProcessNode.Deadline;
    private InProcessNode _host = null!;
    private JobsNode _node = null!;

    public async Task InitializeAsync()
    {
        _host = await InProcessNode.StartAsync("jobs-canvas-");
        _node = _host.Node;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_chain_built_in_csharp_gives_16()
    {
        var chain = await _node.Canvas.ApplyAsync(Signature.Chain(Signature.Of("tasks.add", 2, 2), Signature.Of("tasks.add", 4), Signature.Of("tasks.add", 8)));
        Assert.Equal(16, await chain.GetAsync<int>(Deadline));
    }

    [Fact]
    public async Task A_chord_built_in_csharp_gives_9900_and_exposes_its_members()
    {
        var chord = await _node.Canvas.ApplyAsync(Signature.Chord(Enumerable.Range(0, 100).Select(i => Signature.Of("tasks.add", i, i)), Signature.Of("tasks.xsum")));
        Assert.Equal(9900, await chord.GetAsync<long>(Deadline));
        var state = await chord.GetStateAsync();
        Assert.True(state.Ready);
        Assert.Equal(101, state.Members.Count);
        Assert.All(state.Members, m => Assert.Equal(TaskState.Success, m.State));
    }

    [Fact]
    public async Task Map_starmap_and_chunks_give_celerys_results()
    {
        var map = await _node.Canvas.ApplyAsync(Signature.Map("tasks.tsum", [new[] { 1, 2 }, new[] { 3 }]));
        var mapped = await map.GetAsync<long[]>(Deadline);
        Assert.Equal(new long[] { 3, 3 }, mapped);
        var starmap = await _node.Canvas.ApplyAsync(Signature.Starmap("tasks.add", [new[] { 2, 2 }, new[] { 4, 4 }]));
        var starmapped = await starmap.GetAsync<int[]>(Deadline);
        Assert.Equal(new[] { 4, 8 }, starmapped);
        var chunks = await _node.Canvas.ApplyAsync(Signature.Chunks("tasks.add", Enumerable.Range(0, 100).Select(i => (object?)new[] { i, i }), 10));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 2 * i), (await chunks.GetAsync<int[][]>(Deadline))!.SelectMany(c => c));
    }

    [Fact]
    public async Task A_canvas_tree_is_the_started_signature_with_ids_and_its_members_states()
    {
        var chord = await _node.Canvas.ApplyAsync(Signature.Chord([Signature.Of("tasks.add", 1, 1), Signature.Of("tasks.add", 2, 2)], Signature.Of("tasks.xsum")));
        await chord.GetAsync<long>(Deadline);
        var tree = await chord.GetTreeAsync();
        Assert.Equal(chord.Id, tree.CanvasId);
        Assert.Equal(chord.Root!.Nodes().Select(n => (n.Kind, n.Task, n.Id)), tree.Root!.Nodes().Select(n => (n.Kind, n.Task, n.Id)));
        Assert.Equal(SignatureKind.Chord, tree.Root.Kind);
        Assert.Equal(tree.Root.Members.Select(m => m.Id).Append(tree.Root.Body!.Id), tree.Result.Members.Select(m => m.TaskId));
        Assert.All(tree.Result.Members, m => Assert.Equal(TaskState.Success, m.State));

        var never = await _node.Canvas.Handle(Guid.NewGuid().ToString()).GetTreeAsync();
        Assert.Null(never.Root);
        Assert.Equal(TaskState.Pending, never.Result.State);
    }

    [Fact]
    public async Task A_failed_canvas_propagates_the_cause_unless_told_not_to()
    {
        var chain = await _node.Canvas.ApplyAsync(Signature.Chain(Signature.Of("tasks.fail", "nope"), Signature.Of("tasks.add", 1)));
        var error = await Assert.ThrowsAsync<TaskFailedException>(() => chain.GetAsync<int>(Deadline));
        Assert.Equal("nope", error.Error!.Message);
        Assert.Equal(0, await chain.GetAsync<int>(Deadline, propagate: false));
    }

    [Fact]
    public async Task A_typed_call_sends_the_task_by_its_attribute_name()
    {
        var sent = await _node.Client.DelayAsync(() => Jobs.Node.Tasks.Mul(6, 7));
        Assert.Equal(42, await sent.GetAsync<int>(Deadline));
        var named = await _node.Client.DelayAsync(() => Jobs.Node.Tasks.SumOfTwoNumbers(40, 2));
        Assert.Equal(42, await named.GetAsync<int>(Deadline));
    }
}
