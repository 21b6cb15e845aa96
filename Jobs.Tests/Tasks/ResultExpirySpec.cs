using System.Text.Json;
using Akka.Persistence.Journal;
using Jobs.Actors.Persistence;
using Jobs.Actors.Retention;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

/// <summary>
/// The rules of result expiry (issue 17) on the pure task state, with the clock passed in: which setting wins, when a
/// result expires, what a reader sees before and after, that unfinished tasks never expire, and the index entry each
/// journal writes with the final event.
/// </summary>
public sealed class ResultExpirySpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly JsonElement Four = JsonDocument.Parse("4").RootElement.Clone();
    private static readonly TimeSpan NodeDefault = TimeSpan.FromMinutes(10);

    private static TaskEntityState Received(TimeSpan? callExpires = null, bool? callIgnore = null, DateTimeOffset? due = null)
    {
        var state = TaskEntityState.Empty("t1", NodeDefault);
        foreach (var e in state.Decide(new SubmitTask("t1", "tasks.add", Args, Kwargs, "default", due, ResultExpires: callExpires, IgnoreResult: callIgnore), T0))
            state = state.Apply(e);
        return state;
    }

    private static (TaskEntityState State, ITaskEvent Event) Finish(TaskEntityState state, DateTimeOffset at, AttemptOutcome outcome = AttemptOutcome.Succeeded,
        TimeSpan? taskExpires = null, bool? taskIgnore = null)
    {
        var e = Assert.Single(state.Decide(new CompleteAttempt("t1", state.Retries, outcome, "w", at, 0.1,
            outcome == AttemptOutcome.Succeeded ? Four : null, outcome == AttemptOutcome.Succeeded ? null : new TaskError("E", "boom", ""),
            ResultExpires: taskExpires, IgnoreResult: taskIgnore), at));
        return (state.Apply(e), e);
    }

    [Fact]
    public void A_result_expires_the_node_default_after_it_finished_and_reads_pending_from_then_on()
    {
        var finishedAt = T0.AddSeconds(30);
        var (state, _) = Finish(Received(), finishedAt);
        Assert.Equal(finishedAt + NodeDefault, state.ResultExpiresAt);
        Assert.Equal(TaskState.Success, state.ToResult(finishedAt + NodeDefault - TimeSpan.FromMilliseconds(1)).State);
        var expired = state.ToResult(finishedAt + NodeDefault);
        Assert.Equal(TaskState.Pending, expired.State);
        Assert.Null(expired.Result);
        var info = state.ToInfo(finishedAt + NodeDefault);
        Assert.True(info.ResultExpired);
        Assert.Equal(TaskState.Pending, info.State);
        Assert.Equal(finishedAt + NodeDefault, info.ResultExpires);
    }

    [Fact]
    public void The_call_wins_over_the_task_and_the_task_over_the_node()
    {
        var at = T0.AddSeconds(1);
        Assert.Equal(at + TimeSpan.FromSeconds(5), Finish(Received(callExpires: TimeSpan.FromSeconds(5)), at, taskExpires: TimeSpan.FromHours(1)).State.ResultExpiresAt);
        Assert.Equal(at + TimeSpan.FromHours(1), Finish(Received(), at, taskExpires: TimeSpan.FromHours(1)).State.ResultExpiresAt);
        Assert.Equal(at, Finish(Received(callIgnore: true), at, taskExpires: TimeSpan.FromHours(1)).State.ResultExpiresAt);
        Assert.Equal(at + NodeDefault, Finish(Received(callIgnore: false), at, taskIgnore: true).State.ResultExpiresAt);
        Assert.Equal(at, Finish(Received(), at, taskIgnore: true).State.ResultExpiresAt);
    }

    [Fact]
    public void An_expiry_of_zero_keeps_the_result_for_ever()
    {
        var (byCall, e) = Finish(Received(callExpires: TimeSpan.Zero), T0);
        Assert.Null(byCall.ResultExpiresAt);
        Assert.Null(ExpiryEntries.Of(e));
        Assert.Equal(TaskState.Success, byCall.ToResult(T0.AddYears(5)).State);
        var node = TaskEntityState.Empty("t1", TimeSpan.Zero);
        foreach (var received in node.Decide(new SubmitTask("t1", "tasks.add", Args, Kwargs, "default"), T0))
            node = node.Apply(received);
        Assert.Null(Finish(node, T0).State.ResultExpiresAt);
    }

    [Fact]
    public void Unfinished_tasks_never_expire_whatever_the_time()
    {
        var waiting = Received(callExpires: TimeSpan.FromSeconds(1), due: T0.AddDays(30));
        Assert.Null(waiting.ResultExpiresAt);
        Assert.False(waiting.IsResultExpired(T0.AddDays(60)));
        Assert.Equal(TaskState.Received, waiting.ToResult(T0.AddDays(60)).State);
        var (retrying, retried) = Finish(waiting, T0.AddDays(31), AttemptOutcome.Retry);
        Assert.Null(ExpiryEntries.Of(retried));
        Assert.Equal(TaskState.Retry, retrying.ToResult(T0.AddYears(1)).State);
    }

    [Fact]
    public void Failed_and_revoked_results_expire_like_successes()
    {
        Assert.Equal(T0 + NodeDefault, Finish(Received(), T0, AttemptOutcome.Failed).State.ResultExpiresAt);
        var revoke = Assert.IsType<TaskRevoked>(Assert.Single(Received(callExpires: TimeSpan.FromSeconds(3)).Decide(new RevokeTask("t1"), T0)));
        Assert.Equal(T0.AddSeconds(3), revoke.ResultExpiresAt);
        var expired = Received(callExpires: TimeSpan.FromSeconds(3)) with { ExpiresAt = T0 };
        Assert.Equal(T0.AddSeconds(3), Assert.IsType<TaskRevoked>(Assert.Single(expired.DecideExpiry(T0))).ResultExpiresAt);
    }

    [Fact]
    public void Events_journaled_before_retention_read_back_with_the_node_default_and_no_expiry_of_their_own()
    {
        var old = TaskEntityState.Empty("t1", NodeDefault)
            .Apply(new TaskReceived("t1", "tasks.add", Args, Kwargs, "default", null, null, T0))
            .Apply(new TaskSucceeded("t1", Four, "w", T0, 0.1, T0));
        Assert.Null(old.ResultExpiresAt);
        Assert.Equal(TaskState.Success, old.ToResult(T0.AddYears(1)).State);
    }

    [Fact]
    public void The_final_event_carries_its_expiry_entry_to_either_journal()
    {
        var (_, e) = Finish(Received(), T0);
        var due = T0 + NodeDefault;

        var operation = Assert.Single(ExpiryEntries.IndexOperations(e));
        Assert.Equal(IndexOperation.AddToSortedSet(JournalIndexes.Expiry, "task-t1", due.ToUnixTimeMilliseconds()), operation);

        var sql = Assert.IsType<Tagged>(new SqlTaskEventAdapter().ToJournal(e));
        Assert.Equal(["expiry:" + due.ToUnixTimeMilliseconds().ToString("D15"), "task"], sql.Tags.Order(StringComparer.Ordinal));

        Assert.Empty(ExpiryEntries.IndexOperations(new TaskReceived("t1", "tasks.add", Args, Kwargs, "default", null, null, T0)));
    }

    [Fact]
    public void Expiry_tags_order_by_time_as_text()
    {
        var times = new[] { T0, T0.AddMilliseconds(1), T0.AddDays(400), DateTimeOffset.UnixEpoch.AddSeconds(9) };
        var tags = times.Select(ExpiryEntries.Tag).ToArray();
        Assert.Equal(times.OrderBy(t => t).Select(ExpiryEntries.Tag), tags.Order(StringComparer.Ordinal));
        Assert.All(tags, t => Assert.True(t.Length <= 64, "the tags column holds 64 characters"));
    }
}
