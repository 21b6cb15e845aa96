using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class TaskEntitySpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """);

    private static readonly TaskEntitySettings Settings = new(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5))
    {
        PassivateAfterAnswered = TimeSpan.FromMinutes(10),
        AttemptCheckInterval = TimeSpan.FromSeconds(30),
    };
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly JsonElement Four = JsonDocument.Parse("4").RootElement.Clone();

    private readonly TestProbe _queues;

    /// <summary>Where reports come from: the entity acknowledges each one to its sender.</summary>
    private readonly TestProbe _worker;

    public TaskEntitySpec() : base(Config)
    {
        _queues = CreateTestProbe();
        _worker = CreateTestProbe();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Entity(string id) => Sys.ActorOf(TaskEntity.Props(id, _queues.Ref, Settings));

    private SubmitTask Submit(string id, DateTimeOffset? due = null, DateTimeOffset? expires = null, bool awaitResult = false) =>
        new(id, "tasks.add", Args, Kwargs, "default", due, expires, awaitResult);

    private CompleteAttempt Succeeded(string id, int retries = 0) =>
        new(id, retries, AttemptOutcome.Succeeded, "worker@test", Scheduler.Now, 0.01, Four);

    private EnqueueTask ExpectEnqueued(string id)
    {
        var enqueue = _queues.ExpectMsg<EnqueueTask>(e => e.Task.TaskId == id);
        _queues.Reply(new TaskEnqueued(id));
        return enqueue;
    }

    private IReadOnlyList<object> JournalOf(string id)
    {
        Sys.ActorOf(JournalReader.Props(TaskEntity.PersistenceIdOf(id), TestActor));
        return ExpectMsg<JournalEvents>().Events;
    }

    [Fact]
    public void A_submission_is_answered_once_journaled_and_the_task_is_enqueued()
    {
        var entity = Entity("t1");
        entity.Tell(Submit("t1"));
        Assert.Equal(TaskState.Received, ExpectMsg<TaskResult>().State);
        var enqueued = ExpectEnqueued("t1");
        Assert.Equal("tasks.add", enqueued.Task.Name);
        Assert.Equal("default", enqueued.Queue);
        Assert.IsType<TaskReceived>(Assert.Single(JournalOf("t1")));
    }

    [Fact]
    public void Everyone_waiting_is_told_the_result_and_later_askers_get_it_at_once()
    {
        var entity = Entity("t2");
        entity.Tell(Submit("t2"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t2");
        var waiter = CreateTestProbe();
        entity.Tell(new AwaitTaskResult("t2"), waiter.Ref);
        waiter.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        entity.Tell(Succeeded("t2"), _worker.Ref);
        var result = waiter.ExpectMsg<TaskResult>();
        Assert.Equal(TaskState.Success, result.State);
        Assert.Equal("4", result.Result!.Value.GetRawText());
        entity.Tell(new AwaitTaskResult("t2"));
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
    }

    [Fact]
    public void Submit_and_await_answers_with_the_final_result()
    {
        var entity = Entity("t3");
        entity.Tell(Submit("t3", awaitResult: true));
        ExpectEnqueued("t3");
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        entity.Tell(Succeeded("t3"), _worker.Ref);
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
    }

    private SubmitTask SubmitJournalingWithOutcome(string id) => Submit(id, awaitResult: true) with { JournalWithOutcome = true };

    [Fact]
    public void A_member_submission_runs_at_once_and_its_acceptance_is_journaled_with_its_outcome()
    {
        var entity = Entity("t3o");
        entity.Tell(SubmitJournalingWithOutcome("t3o"));
        ExpectEnqueued("t3o");
        Assert.Empty(JournalOf("t3o"));
        entity.Tell(Succeeded("t3o"), _worker.Ref);
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        Assert.Equal([typeof(TaskReceived), typeof(TaskSucceeded)], JournalOf("t3o").Select(e => e.GetType()));
    }

    [Fact]
    public void A_member_unfinished_after_the_acceptance_delay_journals_its_acceptance_on_its_own()
    {
        // Waiting in a backlog, say: journaled after the delay, so it is in its shard's pending index, and a recovered
        // entity would take its worker's report instead of running it again.
        var entity = Entity("t3d");
        entity.Tell(SubmitJournalingWithOutcome("t3d"));
        ExpectEnqueued("t3d");
        Scheduler.Advance(TimeSpan.FromMilliseconds(99));
        Assert.Empty(JournalOf("t3d"));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        AwaitAssert(() => Assert.IsType<TaskReceived>(Assert.Single(JournalOf("t3d"))));
        entity.Tell(Succeeded("t3d"), _worker.Ref);
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        Assert.Equal([typeof(TaskReceived), typeof(TaskSucceeded)], JournalOf("t3d").Select(e => e.GetType()));
    }

    [Fact]
    public void A_member_revoked_before_its_acceptance_is_journaled_journals_both_and_its_coordinator_hears_revoked()
    {
        var entity = Entity("t3r");
        var coordinator = CreateTestProbe();
        entity.Tell(SubmitJournalingWithOutcome("t3r"), coordinator.Ref);
        ExpectEnqueued("t3r");
        Assert.Empty(JournalOf("t3r"));
        entity.Tell(new RevokeTask("t3r"));
        Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        Assert.Equal(TaskState.Revoked, coordinator.ExpectMsg<TaskResult>().State);
        Assert.Equal([typeof(TaskReceived), typeof(TaskRevoked)], JournalOf("t3r").Select(e => e.GetType()));
    }

    [Fact]
    public void A_member_whose_body_runs_a_while_or_that_is_handed_off_journals_its_acceptance_first()
    {
        var started = Entity("t3s");
        started.Tell(SubmitJournalingWithOutcome("t3s"));
        ExpectEnqueued("t3s");
        Assert.Empty(JournalOf("t3s"));
        started.Tell(new MarkTaskStarted("t3s", 0, "w", _worker.Ref, Scheduler.Now));
        AwaitAssert(() => Assert.IsType<TaskReceived>(Assert.Single(JournalOf("t3s"))));
        started.Tell(new GetTaskInfo("t3s"));
        AwaitAssert(() => Assert.Equal(TaskState.Started, ExpectMsg<TaskInfo>().State));

        var handedOff = Entity("t3h");
        Watch(handedOff);
        handedOff.Tell(SubmitJournalingWithOutcome("t3h"));
        ExpectEnqueued("t3h");
        Assert.Empty(JournalOf("t3h"));
        handedOff.Tell(Jobs.Actors.Hosting.StopEntity.Instance);
        ExpectTerminated(handedOff);
        Assert.IsType<TaskReceived>(Assert.Single(JournalOf("t3h")));
    }

    [Fact]
    public void A_task_submitted_and_awaited_leaves_memory_once_it_answered_and_one_not_awaited_idles_first()
    {
        var awaited = ChildActorOf(TaskEntity.Props("t3b", _queues.Ref, Settings));
        awaited.Tell(Submit("t3b", awaitResult: true));
        ExpectEnqueued("t3b");
        awaited.Tell(Succeeded("t3b"), _worker.Ref);
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        ExpectMsg<Akka.Cluster.Sharding.Passivate>();

        var sent = ChildActorOf(TaskEntity.Props("t3c", _queues.Ref, Settings));
        sent.Tell(Submit("t3c"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t3c");
        sent.Tell(Succeeded("t3c"), _worker.Ref);
        sent.Tell(new GetTaskResult("t3c"));
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        // The idle timeout is armed once the actor is idle, a moment after its answer: advance until it fires.
        AwaitAssert(() =>
        {
            Scheduler.Advance(Settings.PassivateAfter);
            ExpectMsg<Akka.Cluster.Sharding.Passivate>(TimeSpan.FromMilliseconds(300));
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_finished_task_whose_waiter_was_told_idles_the_shorter_time()
    {
        var entity = ChildActorOf(TaskEntity.Props("t3w", _queues.Ref, Settings with { PassivateAfterAnswered = TimeSpan.FromSeconds(1) }));
        entity.Tell(Submit("t3w"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t3w");
        entity.Tell(new AwaitTaskResult("t3w"));
        entity.Tell(Succeeded("t3w"), _worker.Ref);
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        // Seconds, not the ten minutes of passivate-after: the idle timeout is armed a moment after the answer.
        AwaitAssert(() =>
        {
            Scheduler.Advance(TimeSpan.FromSeconds(1));
            ExpectMsg<Akka.Cluster.Sharding.Passivate>(TimeSpan.FromMilliseconds(300));
        }, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_countdown_holds_the_task_until_it_is_due()
    {
        var entity = Entity("t4");
        entity.Tell(Submit("t4", due: Scheduler.Now.AddSeconds(10)));
        ExpectMsg<TaskResult>();
        Scheduler.Advance(TimeSpan.FromSeconds(9));
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        ExpectEnqueued("t4");
    }

    [Fact]
    public void A_retry_is_enqueued_again_when_its_countdown_ends()
    {
        var entity = Entity("t5");
        entity.Tell(Submit("t5"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t5");
        entity.Tell(new CompleteAttempt("t5", 0, AttemptOutcome.Retry, "w", Scheduler.Now, 0.1,
            Error: new TaskError("IOException", "flaky", "trace"), RetryCountdown: 30), _worker.Ref);
        AwaitAssert(() =>
        {
            entity.Tell(new GetTaskResult("t5"));
            Assert.Equal(TaskState.Retry, ExpectMsg<TaskResult>().State);
        });
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Scheduler.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, ExpectEnqueued("t5").Task.Retries);

        entity.Tell(Succeeded("t5", retries: 1), _worker.Ref);
        entity.Tell(new AwaitTaskResult("t5"));
        Assert.Equal(1, ExpectMsg<TaskResult>(r => r.State == TaskState.Success).Retries);
    }

    [Fact]
    public void A_restarted_entity_recovers_its_state_and_enqueues_unfinished_work()
    {
        var entity = Entity("t6");
        entity.Tell(Submit("t6"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t6");
        Watch(entity);
        Sys.Stop(entity);
        ExpectTerminated(entity);

        var again = Entity("t6");
        ExpectEnqueued("t6");
        again.Tell(new GetTaskInfo("t6"));
        var info = ExpectMsg<TaskInfo>();
        Assert.Equal(TaskState.Received, info.State);
        Assert.Equal("[2, 2]", info.Args!.Value.GetRawText());
    }

    [Fact]
    public void A_finished_task_is_not_run_again_after_a_restart()
    {
        var entity = Entity("t7");
        entity.Tell(Submit("t7"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t7");
        entity.Tell(Succeeded("t7"), _worker.Ref);
        entity.Tell(new AwaitTaskResult("t7"));
        ExpectMsg<TaskResult>();
        Watch(entity);
        Sys.Stop(entity);
        ExpectTerminated(entity);

        Entity("t7").Tell(new GetTaskResult("t7"));
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_duplicate_terminal_report_is_not_journaled()
    {
        var entity = Entity("t8");
        entity.Tell(Submit("t8"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t8");
        entity.Tell(Succeeded("t8"), _worker.Ref);
        entity.Tell(Succeeded("t8"), _worker.Ref);
        entity.Tell(new CompleteAttempt("t8", 0, AttemptOutcome.Failed, "other", Scheduler.Now, 1, Error: new TaskError("E", "late", "")), _worker.Ref);
        entity.Tell(new AwaitTaskResult("t8"));
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        var events = JournalOf("t8");
        Assert.Equal(2, events.Count);
        Assert.Single(events.OfType<TaskSucceeded>());
    }

    [Fact]
    public void When_its_worker_dies_mid_attempt_the_task_is_enqueued_again()
    {
        var entity = Entity("t9");
        entity.Tell(Submit("t9"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t9");
        var worker = CreateTestProbe();
        entity.Tell(new MarkTaskStarted("t9", 0, "worker@dead", worker.Ref, Scheduler.Now));
        AwaitAssert(() =>
        {
            entity.Tell(new GetTaskResult("t9"));
            Assert.Equal(TaskState.Started, ExpectMsg<TaskResult>().State);
        });
        Sys.Stop(worker.Ref);
        ExpectEnqueued("t9");
    }

    [Fact]
    public void When_its_queue_dies_a_waiting_task_is_enqueued_again()
    {
        var entity = Entity("t10");
        entity.Tell(Submit("t10"));
        ExpectMsg<TaskResult>();
        var queue = CreateTestProbe();
        _queues.ExpectMsg<EnqueueTask>();
        entity.Tell(new TaskEnqueued("t10"), queue.Ref);
        Sys.Stop(queue.Ref);
        ExpectEnqueued("t10");
    }

    [Fact]
    public void An_unconfirmed_enqueue_is_sent_again()
    {
        var entity = Entity("t11");
        entity.Tell(Submit("t11"));
        ExpectMsg<TaskResult>();
        _queues.ExpectMsg<EnqueueTask>();
        Scheduler.Advance(Settings.EnqueueConfirmTimeout);
        ExpectEnqueued("t11");
    }

    [Fact]
    public void A_task_not_started_before_it_expires_is_revoked()
    {
        var entity = Entity("t12");
        entity.Tell(Submit("t12", due: Scheduler.Now.AddSeconds(20), expires: Scheduler.Now.AddSeconds(10)));
        ExpectMsg<TaskResult>();
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        AwaitAssert(() =>
        {
            entity.Tell(new GetTaskResult("t12"));
            Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        });
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_task_that_started_before_it_expires_runs_to_its_result()
    {
        var entity = Entity("t13");
        entity.Tell(Submit("t13", expires: Scheduler.Now.AddSeconds(10)));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("t13");
        entity.Tell(new MarkTaskStarted("t13", 0, "w", CreateTestProbe().Ref, Scheduler.Now));
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        entity.Tell(new GetTaskResult("t13"));
        Assert.Equal(TaskState.Started, ExpectMsg<TaskResult>().State);
        entity.Tell(Succeeded("t13"));
        ExpectMsg<AttemptRecorded>();
        entity.Tell(new AwaitTaskResult("t13"));
        Assert.Equal(TaskState.Success, ExpectMsg<TaskResult>().State);
        Assert.DoesNotContain(JournalOf("t13"), e => e is TaskRevoked);
    }

    [Fact]
    public void An_enqueue_confirmed_late_is_not_sent_again_while_the_attempt_runs()
    {
        var entity = Entity("t14");
        entity.Tell(Submit("t14"));
        ExpectMsg<TaskResult>();
        _queues.ExpectMsg<EnqueueTask>();
        // The worker's start overtakes the queue's confirmation (they come from different actors).
        entity.Tell(new MarkTaskStarted("t14", 0, "w", CreateTestProbe().Ref, Scheduler.Now));
        Scheduler.Advance(Settings.EnqueueConfirmTimeout);
        // Answered after the timer's message, so whatever the timer sent has been sent by now.
        entity.Tell(new GetTaskResult("t14"));
        Assert.Equal(TaskState.Started, ExpectMsg<TaskResult>().State);
        Assert.False(_queues.HasMessages);
    }

    [Fact]
    public void An_unknown_id_is_pending()
    {
        Entity("nobody").Tell(new GetTaskResult("nobody"));
        Assert.Equal(TaskState.Pending, ExpectMsg<TaskResult>().State);
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_revoked_task_that_has_not_started_is_forgotten_by_its_queue_and_never_runs()
    {
        var entity = Entity("r1");
        entity.Tell(Submit("r1", due: Scheduler.Now.AddSeconds(10)));
        ExpectMsg<TaskResult>();
        entity.Tell(new RevokeTask("r1"));
        Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        Assert.Equal("r1", _queues.ExpectMsg<ForgetTask>().TaskId);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.IsType<TaskRevoked>(JournalOf("r1")[^1]);
    }

    [Fact]
    public void A_revoke_before_submission_is_remembered_and_the_later_submission_does_not_run()
    {
        var entity = Entity("r2");
        entity.Tell(new RevokeTask("r2"));
        Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        entity.Tell(Submit("r2"));
        Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void Revoking_a_running_task_tells_its_worker_to_cancel_or_terminate_it()
    {
        var entity = Entity("r3");
        entity.Tell(Submit("r3"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("r3");
        var worker = CreateTestProbe();
        entity.Tell(new MarkTaskStarted("r3", 0, "w", worker.Ref, Scheduler.Now));
        entity.Tell(new RevokeTask("r3", Terminate: true));
        Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        Assert.True(worker.ExpectMsg<CancelAttempt>().Terminate);
        entity.Tell(Succeeded("r3"), _worker.Ref);
        entity.Tell(new GetTaskInfo("r3"));
        Assert.Equal(RevocationReasons.Terminated, ExpectMsg<TaskInfo>().RevokedReason);
    }

    [Fact]
    public void A_body_that_starts_after_its_task_was_revoked_is_told_to_cancel_and_its_report_records_nothing()
    {
        var entity = Entity("r4");
        entity.Tell(Submit("r4"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("r4");
        // Revoked while its lease travels to a worker: the queue's cancel has not reached the worker when the body starts.
        entity.Tell(new RevokeTask("r4"));
        Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        var worker = CreateTestProbe();
        entity.Tell(new MarkTaskStarted("r4", 0, "w", worker.Ref, Scheduler.Now));
        Assert.Equal(new CancelAttempt("r4", Terminate: false), worker.ExpectMsg<CancelAttempt>());

        entity.Tell(Succeeded("r4"), _worker.Ref);
        Assert.Equal(new AttemptRecorded("r4", 0), _worker.ExpectMsg<AttemptRecorded>());
        entity.Tell(new GetTaskInfo("r4"));
        var info = ExpectMsg<TaskInfo>();
        Assert.Equal((TaskState.Revoked, RevocationReasons.Revoked, null), (info.State, info.RevokedReason, info.Worker));
        Assert.Equal(["TaskReceived", "TaskRevoked"], JournalOf("r4").Select(e => e.GetType().Name));
    }

    [Fact]
    public void A_body_that_starts_after_a_terminating_revoke_is_told_to_terminate()
    {
        var entity = Entity("r5");
        entity.Tell(new RevokeTask("r5", Terminate: true));
        ExpectMsg<TaskResult>();
        var worker = CreateTestProbe();
        entity.Tell(new MarkTaskStarted("r5", 0, "w", worker.Ref, Scheduler.Now));
        Assert.True(worker.ExpectMsg<CancelAttempt>().Terminate);
    }

    [Fact]
    public void A_report_is_acknowledged_once_journaled_and_a_stale_one_at_once()
    {
        var entity = Entity("a1");
        entity.Tell(Submit("a1"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("a1");
        entity.Tell(Succeeded("a1"), _worker.Ref);
        Assert.Equal(new AttemptRecorded("a1", 0), _worker.ExpectMsg<AttemptRecorded>());
        Assert.IsType<TaskSucceeded>(JournalOf("a1")[^1]);
        entity.Tell(Succeeded("a1", retries: 3), _worker.Ref);
        Assert.Equal(new AttemptRecorded("a1", 3), _worker.ExpectMsg<AttemptRecorded>());
    }

    [Fact]
    public void A_started_attempt_its_worker_no_longer_runs_is_run_again()
    {
        var entity = Entity("w1");
        entity.Tell(Submit("w1"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("w1");
        entity.Tell(new MarkTaskStarted("w1", 0, "worker@alive", _worker.Ref, Scheduler.Now));
        AwaitAssert(() =>
        {
            entity.Tell(new GetTaskResult("w1"));
            Assert.Equal(TaskState.Started, ExpectMsg<TaskResult>().State);
        });

        Scheduler.Advance(Settings.AttemptCheckInterval);
        Assert.Equal(new CheckAttempt("w1", 0), _worker.ExpectMsg<CheckAttempt>());
        _worker.Reply(new AttemptStatus("w1", 0, Running: true));
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        Scheduler.Advance(Settings.AttemptCheckInterval);
        _worker.ExpectMsg<CheckAttempt>();
        _worker.Reply(new AttemptStatus("w1", 0, Running: false));
        Assert.Equal(0, ExpectEnqueued("w1").Task.Retries);
        entity.Tell(new GetTaskResult("w1"));
        Assert.Equal(TaskState.Received, ExpectMsg<TaskResult>().State);
        Scheduler.Advance(Settings.AttemptCheckInterval);
        _worker.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_lost_lease_is_enqueued_again_unless_its_attempt_started_or_is_another()
    {
        var entity = Entity("l1");
        entity.Tell(Submit("l1"));
        ExpectMsg<TaskResult>();
        ExpectEnqueued("l1");
        entity.Tell(new LeaseLost("l1", 1));
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        entity.Tell(new LeaseLost("l1", 0));
        ExpectEnqueued("l1");
        entity.Tell(new MarkTaskStarted("l1", 0, "w", _worker.Ref, Scheduler.Now));
        entity.Tell(new LeaseLost("l1", 0));
        _queues.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_report_whose_start_was_not_told_publishes_the_task_started_event_before_the_outcome()
    {
        var events = CreateTestProbe();
        var entity = Sys.ActorOf(TaskEntity.Props("s1", _queues.Ref, Settings, events.Ref));
        entity.Tell(Submit("s1"));
        ExpectMsg<TaskResult>();
        Assert.Equal("task-received", ((TaskEvent)events.ExpectMsg<Publish>().Message).Type);
        var startedAt = Scheduler.Now.AddMilliseconds(-20);
        entity.Tell(Succeeded("s1") with { StartedAt = startedAt, StartUnreported = true }, _worker.Ref);
        var started = (TaskEvent)events.ExpectMsg<Publish>().Message;
        Assert.Equal(("task-started", "STARTED", startedAt, "worker@test"), (started.Type, started.State, started.Timestamp, started.Hostname));
        Assert.Equal("task-succeeded", ((TaskEvent)events.ExpectMsg<Publish>().Message).Type);
    }

    [Fact]
    public void A_report_of_an_attempt_told_started_or_that_never_ran_publishes_no_second_task_started_event()
    {
        var events = CreateTestProbe();
        var entity = Sys.ActorOf(TaskEntity.Props("s2", _queues.Ref, Settings, events.Ref));
        entity.Tell(Submit("s2"));
        ExpectMsg<TaskResult>();
        events.ExpectMsg<Publish>();
        entity.Tell(new MarkTaskStarted("s2", 0, "worker@test", _worker.Ref, Scheduler.Now));
        Assert.Equal("task-started", ((TaskEvent)events.ExpectMsg<Publish>().Message).Type);
        entity.Tell(Succeeded("s2") with { StartUnreported = true }, _worker.Ref);
        Assert.Equal("task-succeeded", ((TaskEvent)events.ExpectMsg<Publish>().Message).Type);

        var expired = Sys.ActorOf(TaskEntity.Props("s3", _queues.Ref, Settings, events.Ref));
        expired.Tell(Submit("s3"));
        ExpectMsg<TaskResult>();
        events.ExpectMsg<Publish>();
        expired.Tell(new CompleteAttempt("s3", 0, AttemptOutcome.Failed, "worker@test", Scheduler.Now, 0, Error: new TaskError("NotRegistered", "no", "")), _worker.Ref);
        Assert.Equal("task-failed", ((TaskEvent)events.ExpectMsg<Publish>().Message).Type);
    }
}
