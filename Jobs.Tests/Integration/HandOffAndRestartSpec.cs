using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Jobs.Actors.Canvas;
using Jobs.Actors.Client;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// A node in this process, with its real sharding, on a journal the test controls: an entity handed off in the
/// middle of a write, entities restarting while clients wait, a member whose first write fails. Without a worker
/// unless a test needs one, so the test reports attempts itself, when it chooses.
/// </summary>
public sealed class HandOffAndRestartSpec : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly JsonElement Four = JsonSerializer.SerializeToElement(4);
    private readonly string _data = Directory.CreateTempSubdirectory("jobs-handoff-").FullName;
    private JobsNode? _node;

    public async ValueTask DisposeAsync()
    {
        if (_node is not null)
            await _node.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private async Task<JobsNode> StartAsync(bool worker = false)
    {
        var config = ConfigurationFactory.ParseString("""
                akka.loglevel = WARNING
                jobs.client.reask-interval = 300ms
                jobs.canvas.reask-interval = 500ms
                """)
            .WithFallback(ControllableJournal.Config)
            .WithFallback(NodeOptions.Parse(["--standalone", "--port", "0", "--data", Path.Combine(_data, "jobs.db")]).ToConfig(["worker"], 0));
        var registry = worker ? TaskRegistry.FromAssemblies([typeof(Jobs.Node.Tasks).Assembly]) : null;
        return _node = await JobsNode.StartAsync(config, registry, Deadline);
    }

    private static Task<AsyncResult> SendAsync(JobsNode node, string id) =>
        node.Client.SendTaskAsync("tasks.add", [2, 2], options: new TaskOptions { TaskId = id });

    private static CompleteAttempt Succeeded(string id) =>
        new(id, 0, AttemptOutcome.Succeeded, "worker@test", DateTimeOffset.UtcNow, 0.01, Four);

    /// <summary>The actor at <paramref name="path"/>, once it exists (polled until the deadline).</summary>
    private static async Task<IActorRef> FindAsync(JobsNode node, string path)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var identity = await node.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(3));
            if (identity.Subject is { } found)
                return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no actor at {path}");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Stops the entity at <paramref name="path"/> and returns once a new incarnation of it runs, started by
    /// <paramref name="read"/> through the region (sharding starts an entity for its next message).
    /// </summary>
    private static async Task ReplaceAsync(JobsNode node, string path, ITaskCommand read)
    {
        var old = await FindAsync(node, path);
        old.Tell(Kill.Instance);
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var identity = await node.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(3));
            if (identity.Subject is { } now && !now.Equals(old))
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{path} was not started again");
            node.Tasks.Tell(read);
            await Task.Delay(50);
        }
    }

    private static string EntityPath(JobsNode node, string typeName, string id) =>
        $"/system/sharding/{typeName}/{new StableMessageExtractor(node.Settings.NumberOfShards, _ => id).ShardId(id)}/{id}";

    [Fact]
    public async Task A_task_handed_off_while_its_result_is_written_still_answers_its_waiter()
    {
        var node = await StartAsync();
        await SendAsync(node, "handed-off");
        var waiting = node.Tasks.Ask<TaskResult>(new AwaitTaskResult("handed-off"), Deadline);
        // Read through the same region after the wait: once answered, the entity holds the waiter.
        await node.Client.AsyncResult("handed-off").GetStateAsync();

        var held = new HeldWrites(TaskEntity.PersistenceIdOf("handed-off"));
        await ControllableJournal.JournalOf(node.System).OnWrite.SetInterceptorAsync(held);
        node.Tasks.Tell(Succeeded("handed-off"));
        await held.Reached;
        // The region hands its shards off, as in a rebalance or a graceful leave: each entity gets the stop message.
        node.Tasks.Tell(GracefulShutdown.Instance);
        var entity = EntityPath(node, JobsNode.TaskTypeName, "handed-off");
        await FindAsync(node, entity[..entity.LastIndexOf('/')] + "/HandOffStopper");
        held.Release();

        var result = await waiting;
        Assert.Equal(TaskState.Success, result.State);
        Assert.Equal(4, result.Result!.Value.GetInt32());
    }

    [Fact]
    public async Task A_client_waiting_on_a_task_gets_its_result_although_the_entity_restarted_meanwhile()
    {
        var node = await StartAsync();
        await SendAsync(node, "restarted");
        var waiting = node.Client.AsyncResult("restarted").WaitAsync(Deadline);
        await node.Client.AsyncResult("restarted").GetStateAsync();

        // A new incarnation of the entity (as after a crash, or on another node after a hand-off) forgets who waits.
        await ReplaceAsync(node, EntityPath(node, JobsNode.TaskTypeName, "restarted"), new GetTaskResult("restarted"));
        node.Tasks.Tell(Succeeded("restarted"));

        var result = await waiting;
        Assert.Equal(TaskState.Success, result.State);
    }

    [Fact]
    public async Task A_client_waiting_on_a_canvas_gets_its_result_although_the_coordinator_restarted_meanwhile()
    {
        var node = await StartAsync();
        var chain = await node.Canvas.ApplyAsync(Signature.Chain(Signature.Of("tasks.add", 2, 2) with { Id = "step-1" }) with { Id = "restarted-chain" });
        var waiting = chain.GetAsync<int>(Deadline);
        await chain.GetStateAsync();

        (await FindAsync(node, EntityPath(node, JobsNode.CanvasTypeName, "restarted-chain"))).Tell(Kill.Instance);
        // The step's entity answers the restarted coordinator, which asks it again once it has recovered.
        await node.Client.AsyncResult("step-1").GetStateAsync();
        node.Tasks.Tell(Succeeded("step-1"));

        Assert.Equal(4, await waiting);
    }

    [Fact]
    public async Task A_chord_whose_member_the_journal_failed_to_store_completes_with_the_right_result()
    {
        var node = await StartAsync(worker: true);
        await ControllableJournal.JournalOf(node.System).OnWrite.SetInterceptorAsync(
            new FailFirstWrite(TaskEntity.PersistenceIdOf("refused-member"), new Akka.Persistence.TestKit.TestJournalFailureException()));
        var chord = await node.Canvas.ApplyAsync(Signature.Chord(
            [Signature.Of("tasks.add", 1, 1) with { Id = "refused-member" }, Signature.Of("tasks.add", 2, 2)], Signature.Of("tasks.xsum")));
        Assert.Equal(6, await chord.GetAsync<long>(Deadline));
    }
}
