using System.Text.Json;
using Akka.Actor;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class TaskEntityStateSpec
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly JsonElement Four = JsonDocument.Parse("4").RootElement.Clone();

    private static TaskEntityState Received(DateTimeOffset? due = null, DateTimeOffset? expires = null)
    {
        var state = TaskEntityState.Empty("t1");
        foreach (var e in state.Decide(new SubmitTask("t1", "tasks.add", Args, Kwargs, "default", due, expires), Now))
            state = state.Apply(e);
        return state;
    }

    private static CompleteAttempt Attempt(int retries, AttemptOutcome outcome, double countdown = 0) =>
        new("t1", retries, outcome, "worker@test", Now, 0.01, outcome == AttemptOutcome.Succeeded ? Four : null,
            outcome == AttemptOutcome.Succeeded ? null : new TaskError("ValueError", "boom", "trace"), countdown);

    [Fact]
    public void An_unknown_task_is_pending()
    {
        var state = TaskEntityState.Empty("nope");
        Assert.Equal(TaskState.Pending, state.ToResult().State);
        Assert.False(state.IsKnown);
    }

    [Fact]
    public void Submitting_journals_a_received_event_with_the_request()
    {
        var state = Received(due: Now.AddSeconds(10));
        Assert.Equal(TaskState.Received, state.State);
        Assert.Equal("tasks.add", state.Name);
        Assert.Equal(Now.AddSeconds(10), state.DueAt);
        Assert.Equal("[2, 2]", state.Args!.Value.GetRawText());
    }

    [Fact]
    public void Submitting_an_existing_id_again_changes_nothing()
    {
        var state = Received();
        Assert.Empty(state.Decide(new SubmitTask("t1", "tasks.mul", Args, Kwargs, "other"), Now));
    }

    [Fact]
    public void A_success_report_stores_the_result_once()
    {
        var state = Received();
        var events = state.Decide(Attempt(0, AttemptOutcome.Succeeded), Now);
        var succeeded = Assert.IsType<TaskSucceeded>(Assert.Single(events));
        state = state.Apply(succeeded);
        Assert.Equal(TaskState.Success, state.State);
        Assert.Equal("4", state.Result!.Value.GetRawText());
        Assert.Empty(state.Decide(Attempt(0, AttemptOutcome.Succeeded), Now));
        Assert.Empty(state.Decide(Attempt(0, AttemptOutcome.Failed), Now));
    }

    [Fact]
    public void A_retry_report_schedules_the_next_attempt_after_the_countdown()
    {
        var state = Received();
        state = state.Apply(Assert.Single(state.Decide(Attempt(0, AttemptOutcome.Retry, countdown: 10), Now)));
        Assert.Equal(TaskState.Retry, state.State);
        Assert.Equal(1, state.Retries);
        Assert.Equal(Now.AddSeconds(10), state.DueAt);
        Assert.Equal("ValueError", state.Error!.Type);
    }

    [Fact]
    public void A_report_of_an_earlier_attempt_is_ignored()
    {
        var state = Received();
        state = state.Apply(Assert.Single(state.Decide(Attempt(0, AttemptOutcome.Retry, countdown: 1), Now)));
        Assert.Empty(state.Decide(Attempt(0, AttemptOutcome.Succeeded), Now));
        Assert.Single(state.Decide(Attempt(1, AttemptOutcome.Succeeded), Now));
    }

    [Fact]
    public void A_failure_report_keeps_the_exception_and_traceback()
    {
        var state = Received();
        state = state.Apply(Assert.Single(state.Decide(Attempt(0, AttemptOutcome.Failed), Now)));
        var result = state.ToResult();
        Assert.Equal(TaskState.Failure, result.State);
        Assert.Equal("boom", result.Error!.Message);
        Assert.Equal("trace", result.Error.Traceback);
    }

    [Fact]
    public void A_task_past_its_expiry_is_revoked()
    {
        var state = Received(expires: Now.AddSeconds(5));
        Assert.Empty(state.DecideExpiry(Now));
        var revoked = Assert.IsType<TaskRevoked>(Assert.Single(state.DecideExpiry(Now.AddSeconds(5))));
        Assert.Equal(RevocationReasons.Expired, revoked.Reason);
        Assert.Equal(TaskState.Revoked, state.Apply(revoked).State);
    }

    [Fact]
    public void A_running_attempt_is_not_expired_and_a_retry_after_the_expiry_is()
    {
        var started = Received(expires: Now.AddSeconds(5)).Apply(new MarkTaskStarted("t1", 0, "w", ActorRefs.Nobody, Now));
        Assert.False(started.IsExpired(Now.AddSeconds(10)));
        Assert.Empty(started.DecideExpiry(Now.AddSeconds(10)));
        var retried = started.Apply(Assert.Single(started.Decide(Attempt(0, AttemptOutcome.Retry, countdown: 1), Now.AddSeconds(10))));
        Assert.IsType<TaskRevoked>(Assert.Single(retried.DecideExpiry(Now.AddSeconds(11))));
    }

    [Fact]
    public void A_started_attempt_is_waiting_again_after_recovery()
    {
        var state = Received().Apply(new MarkTaskStarted("t1", 0, "w", ActorRefs.Nobody, Now));
        Assert.Equal(TaskState.Started, state.State);
        Assert.Equal(TaskState.Received, state.AfterRecovery().State);
    }

    [Fact]
    public void A_start_report_of_another_attempt_is_ignored()
    {
        var state = Received();
        Assert.Same(state, state.Apply(new MarkTaskStarted("t1", 3, "w", ActorRefs.Nobody, Now)));
    }
}
