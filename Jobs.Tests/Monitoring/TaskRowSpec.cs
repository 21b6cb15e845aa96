using System.Text.Json;
using Jobs.Actors.Monitoring;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>The index row's merge rules: events arrive twice and out of order, and the row must still end right.</summary>
public sealed class TaskRowSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Four = JsonDocument.Parse("4").RootElement.Clone();

    private static TaskEvent Received => new(EventTypes.TaskReceived, "t1", "tasks.add", "RECEIVED", T0, Args: Args);
    private static TaskEvent Started(int retries = 0) => new(EventTypes.TaskStarted, "t1", "tasks.add", "STARTED", T0.AddSeconds(1 + retries * 10), "w1", Retries: retries);
    private static TaskEvent Retried => new(EventTypes.TaskRetried, "t1", null, "RETRY", T0.AddSeconds(2), "w1", Exception: "IOError(\"x\")", Retries: 1);
    private static TaskEvent Succeeded => new(EventTypes.TaskSucceeded, "t1", null, "SUCCESS", T0.AddSeconds(12), "w1", Result: Four, Runtime: 0.5);

    private static TaskRow Fold(params TaskEvent[] events) =>
        events.Aggregate(new TaskRow { Uuid = "t1" }, (row, e) => row.Apply(e, 4096));

    [Fact]
    public void A_lifecycle_in_order_ends_in_success_with_every_time_and_the_result()
    {
        var row = Fold(Received, Started(), Succeeded);
        Assert.Equal("SUCCESS", row.State);
        Assert.Equal("tasks.add", row.Name);
        Assert.Equal("[2,2]", row.Args!.Replace(" ", ""));
        Assert.Equal("4", row.Result);
        Assert.Equal("w1", row.Worker);
        Assert.Equal(0.5, row.Runtime);
        Assert.NotNull(row.Received);
        Assert.NotNull(row.Started);
        Assert.NotNull(row.Succeeded);
    }

    [Fact]
    public void A_late_received_or_started_does_not_move_a_finished_task_back()
    {
        var row = Fold(Succeeded, Started(), Received);
        Assert.Equal("SUCCESS", row.State);
        Assert.Equal("tasks.add", row.Name);
        Assert.NotNull(row.Received);
    }

    [Fact]
    public void Started_wins_over_a_received_that_arrives_after_it()
    {
        Assert.Equal("STARTED", Fold(Started(), Received).State);
    }

    [Fact]
    public void A_retry_is_superseded_only_by_the_next_attempt()
    {
        Assert.Equal("RETRY", Fold(Received, Started(0), Retried).State);
        Assert.Equal("RETRY", Fold(Received, Retried, Started(0)).State);
        var rerun = Fold(Received, Started(0), Retried, Started(1));
        Assert.Equal("STARTED", rerun.State);
        Assert.Equal(1, rerun.Retries);
    }

    [Fact]
    public void A_long_result_is_kept_truncated_as_valid_json()
    {
        var big = JsonDocument.Parse(JsonSerializer.Serialize(new string('x', 100))).RootElement.Clone();
        var row = new TaskRow { Uuid = "t1" }.Apply(Succeeded with { Result = big }, 20);
        var text = JsonSerializer.Deserialize<string>(row.Result!)!;
        Assert.EndsWith("…", text);
        Assert.Equal(21, text.Length);
    }
}
