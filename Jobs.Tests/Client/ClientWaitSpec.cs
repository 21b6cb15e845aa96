using System.Text.Json;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Canvas;
using Jobs.Actors.Client;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Client;

/// <summary>What the clients do when an answer does not come: waits ask again and end, submissions name their id.</summary>
public sealed class ClientWaitSpec() : TestKit("akka.loglevel = WARNING")
{
    private static readonly ClientWaits Quick = new(TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(100));
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_wait_asks_again_until_the_task_answers()
    {
        var tasks = CreateTestProbe();
        var client = new TaskClient(tasks.Ref, new TaskRoutes("default", []), TimeSpan.FromSeconds(1), waits: Quick with { DefaultTimeout = Guard });
        var waiting = client.AsyncResult("t1").WaitAsync();
        // The first ask reached an incarnation that forgot it (restarted, moved): nobody answers it.
        tasks.ExpectMsg<AwaitTaskResult>();
        tasks.ExpectMsg<AwaitTaskResult>();
        tasks.Reply(new TaskResult("t1", TaskState.Success, JsonSerializer.SerializeToElement(4)));
        Assert.Equal(TaskState.Success, (await waiting.WaitAsync(Guard)).State);
    }

    [Fact]
    public async Task A_wait_without_a_timeout_of_its_own_ends_after_the_default()
    {
        var client = new TaskClient(CreateTestProbe().Ref, new TaskRoutes("default", []), TimeSpan.FromSeconds(1), waits: Quick);
        await Assert.ThrowsAsync<TimeoutException>(() => client.AsyncResult("t2").WaitAsync()).WaitAsync(Guard);
        var canvases = new CanvasClient(CreateTestProbe().Ref, TimeSpan.FromSeconds(1), Quick);
        await Assert.ThrowsAsync<TimeoutException>(() => canvases.Handle("c2").GetAsync<int>()).WaitAsync(Guard);
    }

    [Fact]
    public async Task A_canvas_wait_asks_again_until_the_coordinator_answers()
    {
        var coordinators = CreateTestProbe();
        var canvases = new CanvasClient(coordinators.Ref, TimeSpan.FromSeconds(1), Quick with { DefaultTimeout = Guard });
        var waiting = canvases.Handle("c1").GetAsync<int>();
        coordinators.ExpectMsg<AwaitCanvasResult>();
        coordinators.ExpectMsg<AwaitCanvasResult>();
        coordinators.Reply(new CanvasResult("c1", TaskState.Success, JsonSerializer.SerializeToElement(16), null, []));
        Assert.Equal(16, await waiting.WaitAsync(Guard));
    }

    [Fact]
    public async Task A_submission_not_acknowledged_in_time_is_reported_as_of_unknown_outcome_with_its_id()
    {
        var client = new TaskClient(CreateTestProbe().Ref, new TaskRoutes("default", []), TimeSpan.FromMilliseconds(300));
        var unknown = await Assert.ThrowsAsync<TaskOutcomeUnknownException>(() =>
            client.SendTaskAsync("tasks.add", [2, 2], options: new TaskOptions { TaskId = "lost" }));
        Assert.Equal("lost", unknown.TaskId);
        Assert.Contains("may or may not have been accepted", unknown.Message);

        var canvases = new CanvasClient(CreateTestProbe().Ref, TimeSpan.FromMilliseconds(300));
        var canvas = await Assert.ThrowsAsync<TaskOutcomeUnknownException>(() =>
            canvases.ApplyAsync(Signature.Chain(Signature.Of("tasks.add", 2, 2)) with { Id = "lost-canvas" }));
        Assert.Equal("lost-canvas", canvas.TaskId);
    }

    [Fact]
    public async Task A_canvas_in_which_two_nodes_share_an_id_is_refused_before_anything_is_sent()
    {
        var coordinators = CreateTestProbe();
        var canvases = new CanvasClient(coordinators.Ref, TimeSpan.FromSeconds(1));
        var twice = Signature.Chain(Signature.Of("tasks.add", 2, 2) with { Id = "x" }, Signature.Of("tasks.add", 4) with { Id = "x" });
        var refused = await Assert.ThrowsAsync<InvalidCanvasException>(() => canvases.ApplyAsync(twice));
        Assert.Contains("'x'", refused.Message);
        Assert.False(coordinators.HasMessages);
    }
}
