using System.Collections.Concurrent;
using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;
using Xunit;

namespace Jobs.Tests.Workers;

/// <summary>Tasks whose bodies the tests release by hand, so concurrency is observed without sleeps.</summary>
public static class GateTasks
{
    private static readonly ConcurrentDictionary<string, TaskCompletionSource<int>> Gates = new();

    public static TaskCompletionSource<int> For(string gate) =>
        Gates.GetOrAdd(gate, _ => new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously));

    [JobsTask("test.gate")]
    public static Task<int> Gate(string gate) => For(gate).Task;

    [JobsTask("test.thread")]
    public static string ThreadName() => Thread.CurrentThread.Name ?? "";

    /// <summary>Asks for one retry after <paramref name="seconds"/>, then answers how many retries it took.</summary>
    [JobsTask("test.retry_later")]
    public static int RetryLater(double seconds, TaskContext context) =>
        context.Retries == 0 ? throw context.Retry(countdown: TimeSpan.FromSeconds(seconds)) : context.Retries;

    /// <summary>x + y after a pause, so a canvas of them is still running when a test kills its node.</summary>
    [JobsTask("test.slow_add")]
    public static async Task<long> SlowAdd(long x, long y, double seconds)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        return x + y;
    }

    /// <summary>
    /// x + y once a file exists at <paramref name="gate"/>: a gate that holds across processes, so a test decides when
    /// a canvas may finish instead of racing its bodies' sleeps.
    /// </summary>
    [JobsTask("test.gated_add")]
    public static async Task<long> GatedAdd(long x, long y, string gate, CancellationToken cancel)
    {
        while (!File.Exists(gate))
            await Task.Delay(20, cancel);
        return x + y;
    }

    [JobsTask("test.hard_limited", TimeLimit = 0.3)]
    public static Task<int> HardLimited(string gate) => For(gate).Task;

    [JobsTask("test.soft_limited", SoftTimeLimit = 0.2)]
    public static async Task<string> SoftLimited(bool cleanUp, CancellationToken cancel)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancel);
            return "never";
        }
        catch (OperationCanceledException) when (cleanUp)
        {
            return "cleaned up";
        }
    }

    [JobsTask("test.rated", RateLimit = "10/s")]
    public static int Rated(int i) => i;

    /// <summary>Celery's way of saying no limit.</summary>
    [JobsTask("test.unlimited", RateLimit = "0/s")]
    public static int Unlimited(int i) => i;

    /// <summary>Blocks its body thread until the gate opens, past its hard limit: the thread stays taken.</summary>
    [JobsTask("test.blocking_hard_limited", TimeLimit = 0.2)]
    public static int BlockingHardLimited(string gate) => For(gate).Task.GetAwaiter().GetResult();

    /// <summary>Synchronous code blocking on async code that does not use ConfigureAwait(false).</summary>
    [JobsTask("test.sync_over_async")]
    public static int SyncOverAsync() => DelayedSeven().Result;

    private static async Task<int> DelayedSeven()
    {
        await Task.Delay(50);
        return 7;
    }

    /// <summary>The same under a soft time limit: a limit timed by <c>CancelAfter</c> would run the callback on a timer thread, whose exception ends the process.</summary>
    [JobsTask("test.soft_limited_throwing_callback", SoftTimeLimit = 0.2)]
    public static Task<int> SoftLimitedThrowingCallback(CancellationToken cancel) => ThrowingCallback(cancel);

    /// <summary>Registers a cancellation callback that throws, then waits to be cancelled.</summary>
    [JobsTask("test.throwing_callback")]
    public static async Task<int> ThrowingCallback(CancellationToken cancel)
    {
        cancel.Register(() => throw new InvalidOperationException("the callback threw"));
        await Task.Delay(Timeout.Infinite, cancel);
        return 0;
    }

    /// <summary>An error callback (link_error): keeps what it was told about the failed task as its result.</summary>
    [JobsTask("test.on_error")]
    public static Dictionary<string, string> OnError(string taskId, string type, string message, string traceback) =>
        new() { ["task_id"] = taskId, ["type"] = type, ["message"] = message, ["traceback"] = traceback };

    /// <summary>Returns an object graph with a cycle, which JSON cannot hold.</summary>
    [JobsTask("test.unserializable")]
    public static Loop Unserializable()
    {
        var loop = new Loop();
        loop.Next = loop;
        return loop;
    }

    public sealed class Loop
    {
        public Loop? Next { get; set; }
    }
}

public sealed class WorkerPoolSpec() : WorkerPoolHarness(bodyThreads: 2)
{
    private IActorRef Worker(int concurrency = 2, int prefetch = 1)
    {
        var worker = Sys.ActorOf(WorkerPool.Props(Registry, Settings(concurrency, prefetch),
            TaskProbe.Ref, QueueProbe.Ref, Bodies));
        var request = QueueProbe.ExpectMsg<RequestTasks>();
        Assert.Equal(concurrency + prefetch, request.Demand);
        QueueProbe.Reply(new ConsumerRegistered("default"));
        return worker;
    }

    private static TaskEnvelope Envelope(string id, string name, string args, DateTimeOffset? expires = null, int retries = 0) =>
        new(id, name, JsonDocument.Parse(args).RootElement.Clone(), JsonDocument.Parse("{}").RootElement.Clone(), "default", retries, expires);

    private static RunTasks Run(params TaskEnvelope[] tasks) => new("default", tasks);

    private CompleteAttempt Completed(string id) => TaskProbe.FishForMessage<CompleteAttempt>(c => c.TaskId == id);

    [Fact]
    public void It_never_runs_more_bodies_than_its_concurrency()
    {
        var worker = Worker(concurrency: 2, prefetch: 1);
        worker.Tell(Run(Envelope("g1", "test.gate", """["c1"]"""), Envelope("g2", "test.gate", """["c2"]"""), Envelope("g3", "test.gate", """["c3"]""")));
        var started = new[] { TaskProbe.ExpectMsg<MarkTaskStarted>(), TaskProbe.ExpectMsg<MarkTaskStarted>() };
        Assert.Equal(["g1", "g2"], started.Select(s => s.TaskId).Order().ToArray());
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        GateTasks.For("c1").SetResult(1);
        var completed = TaskProbe.ExpectMsg<CompleteAttempt>();
        Assert.Equal(("g1", AttemptOutcome.Succeeded), (completed.TaskId, completed.Outcome));
        Assert.Equal("g3", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        var more = QueueProbe.ExpectMsg<RequestTasks>();
        Assert.Equal(["g1"], more.Finished.Select(l => l.TaskId));
        Assert.Equal(1, more.Demand);

        GateTasks.For("c2").SetResult(2);
        GateTasks.For("c3").SetResult(3);
    }

    [Fact]
    public void Bodies_run_on_the_body_threads_not_on_the_actor_dispatcher()
    {
        Worker().Tell(Run(Envelope("th", "test.thread", "[]")));
        var completed = Completed("th");
        Assert.StartsWith("task-body", completed.Result!.Value.GetString());
    }

    [Fact]
    public void A_body_that_throws_is_a_failure_and_the_worker_keeps_working()
    {
        var worker = Worker();
        worker.Tell(Run(Envelope("f1", "tasks.fail", """["boom"]""")));
        var failed = Completed("f1");
        Assert.Equal(AttemptOutcome.Failed, failed.Outcome);
        Assert.Equal("InvalidOperationException", failed.Error!.Type);
        Assert.Equal("boom", failed.Error.Message);
        Assert.Contains("Fail", failed.Error.Traceback);

        worker.Tell(Run(Envelope("a1", "tasks.add", "[2, 2]")));
        var added = Completed("a1");
        Assert.Equal(AttemptOutcome.Succeeded, added.Outcome);
        Assert.Equal(4, added.Result!.Value.GetInt32());
    }

    [Fact]
    public void An_unregistered_task_fails_with_not_registered()
    {
        Worker().Tell(Run(Envelope("u1", "tasks.nope", "[]")));
        var failed = Completed("u1");
        Assert.Equal(AttemptOutcome.Failed, failed.Outcome);
        Assert.Equal("NotRegistered", failed.Error!.Type);
        Assert.Contains("tasks.nope", failed.Error.Message);
    }

    [Fact]
    public void Arguments_that_do_not_bind_fail_the_task_naming_the_parameter()
    {
        Worker().Tell(Run(Envelope("b1", "tasks.add", """[2, "x"]""")));
        var failed = Completed("b1");
        Assert.Equal(AttemptOutcome.Failed, failed.Outcome);
        Assert.Equal(nameof(TaskArgumentException), failed.Error!.Type);
        Assert.Contains("'y'", failed.Error.Message);
    }

    [Fact]
    public void An_autoretry_exception_asks_for_a_retry_with_a_countdown()
    {
        var worker = Worker();
        worker.Tell(Run(Envelope("r1", "tasks.flaky", """[2, "k"]""")));
        var retry = Completed("r1");
        Assert.Equal(AttemptOutcome.Retry, retry.Outcome);
        Assert.Equal(0.2, retry.RetryCountdown, 3);

        worker.Tell(Run(Envelope("r2", "tasks.flaky", """[2, "k"]""", retries: 2)));
        Assert.Equal(AttemptOutcome.Succeeded, Completed("r2").Outcome);
    }

    [Fact]
    public void An_expired_task_is_not_run()
    {
        Worker().Tell(Run(Envelope("e1", "tasks.add", "[1, 1]", expires: DateTimeOffset.UtcNow.AddSeconds(-1))));
        Assert.Equal(AttemptOutcome.Expired, Completed("e1").Outcome);
    }

    [Fact]
    public void When_its_queue_dies_it_drops_unstarted_tasks_and_asks_the_successor()
    {
        var queue = CreateTestProbe();
        var worker = Sys.ActorOf(WorkerPool.Props(Registry, Settings(1, 2),
            TaskProbe.Ref, QueueProbe.Ref, Bodies));
        QueueProbe.ExpectMsg<RequestTasks>();
        worker.Tell(new ConsumerRegistered("default"), queue.Ref);
        worker.Tell(Run(Envelope("q1", "test.gate", """["q1"]"""), Envelope("q2", "test.gate", """["q2"]""")));
        Assert.Equal("q1", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);

        Sys.Stop(queue.Ref);
        // Asked absolutely: however often the successor is asked, the demand never adds up beyond the share.
        var again = QueueProbe.ExpectMsg<SyncLeases>(TimeSpan.FromSeconds(3));
        Assert.Equal(2, again.Credit);
        GateTasks.For("q1").SetResult(1);
        Assert.Equal("q1", Completed("q1").TaskId);
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        GateTasks.For("q2").SetResult(2);
    }

    [Fact]
    public void A_terminated_body_frees_its_slot_even_if_it_ignores_its_token()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(Run(Envelope("stuck", "test.gate", """["never-opens"]"""), Envelope("next", "tasks.add", "[1, 1]")));
        Assert.Equal("stuck", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        worker.Tell(new CancelAttempt("stuck", Terminate: true));
        Assert.Equal("next", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        Assert.Equal(2, Completed("next").Result!.Value.GetInt32());
    }

    [Fact]
    public void A_revoked_task_still_waiting_in_the_worker_is_dropped()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(Run(Envelope("first", "test.gate", """["drop-first"]"""), Envelope("dropped", "tasks.add", "[1, 1]")));
        TaskProbe.ExpectMsg<MarkTaskStarted>();
        worker.Tell(new CancelAttempt("dropped", Terminate: false));
        GateTasks.For("drop-first").SetResult(1);
        Completed("first");
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void The_hard_time_limit_fails_the_attempt_and_frees_the_slot()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(Run(Envelope("hard", "test.hard_limited", """["hard-never"]"""), Envelope("after", "tasks.add", "[2, 2]")));
        var failed = Completed("hard");
        Assert.Equal(AttemptOutcome.Failed, failed.Outcome);
        Assert.Equal("TimeLimitExceeded", failed.Error!.Type);
        Assert.Equal(4, Completed("after").Result!.Value.GetInt32());
    }

    [Fact]
    public void The_soft_time_limit_cancels_the_body_which_may_catch_it()
    {
        var worker = Worker();
        worker.Tell(Run(Envelope("soft", "test.soft_limited", "[false]")));
        var failed = Completed("soft");
        Assert.Equal(AttemptOutcome.Failed, failed.Outcome);
        Assert.Equal(nameof(SoftTimeLimitExceededException), failed.Error!.Type);

        worker.Tell(Run(Envelope("caught", "test.soft_limited", "[true]")));
        Assert.Equal("cleaned up", Completed("caught").Result!.Value.GetString());
    }

    [Fact]
    public void A_rate_limited_task_type_never_starts_faster_than_its_rate()
    {
        var worker = Worker(concurrency: 2, prefetch: 4);
        worker.Tell(Run(Enumerable.Range(0, 5).Select(i => Envelope("rate" + i, "test.rated", $"[{i}]")).ToArray()));
        var starts = Enumerable.Range(0, 5).Select(_ => TaskProbe.FishForMessage<MarkTaskStarted>(_ => true, TimeSpan.FromSeconds(5)).StartedAt).ToArray();
        for (var i = 1; i < starts.Length; i++)
            Assert.True((starts[i] - starts[i - 1]).TotalMilliseconds >= 90, $"starts {i - 1} and {i} were {(starts[i] - starts[i - 1]).TotalMilliseconds} ms apart");
    }
    private WorkerStats Stats(IActorRef worker)
    {
        worker.Tell(GetWorkerStats.Instance, TestActor);
        return ExpectMsg<WorkerStats>();
    }

    [Fact]
    public void A_rate_limit_of_zero_is_no_limit_and_the_worker_keeps_its_tasks()
    {
        var worker = Worker(concurrency: 1, prefetch: 2);
        worker.Tell(Run(Envelope("z1", "test.unlimited", "[1]"), Envelope("z2", "test.unlimited", "[2]"), Envelope("z3", "test.unlimited", "[3]")));
        Assert.Equal(1, Completed("z1").Result!.Value.GetInt32());
        Assert.Equal(2, Completed("z2").Result!.Value.GetInt32());
        Assert.Equal(3, Completed("z3").Result!.Value.GetInt32());
        Assert.Equal(3, Stats(worker).Succeeded);
    }

    [Fact]
    public void A_cancellation_callback_that_throws_does_not_crash_the_worker()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(Run(Envelope("cb", "test.throwing_callback", "[]"), Envelope("after-cb", "tasks.add", "[1, 2]")));
        Assert.Equal("cb", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        worker.Tell(new CancelAttempt("cb", Terminate: false));
        Assert.Equal(AttemptOutcome.Failed, Completed("cb").Outcome);
        Assert.Equal(3, Completed("after-cb").Result!.Value.GetInt32());
        Assert.Equal(1, Stats(worker).Failed);
    }

    [Fact]
    public void A_cancellation_callback_that_throws_at_the_soft_limit_fails_only_its_task()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(Run(Envelope("soft-cb", "test.soft_limited_throwing_callback", "[]"), Envelope("after-soft-cb", "tasks.add", "[2, 3]")));
        var failed = Completed("soft-cb");
        Assert.Equal(nameof(SoftTimeLimitExceededException), failed.Error!.Type);
        Assert.Equal(5, Completed("after-soft-cb").Result!.Value.GetInt32());
    }

    [Fact]
    public void Abandoned_bodies_give_their_threads_back_once_they_end()
    {
        var threads = Bodies.Threads;
        var worker = Worker(concurrency: 1, prefetch: 0);
        for (var i = 0; i < 3; i++)
        {
            worker.Tell(Run(Envelope("blocked" + i, "test.blocking_hard_limited", $"[\"blocked-{i}\"]")));
            Assert.Equal("TimeLimitExceeded", Completed("blocked" + i).Error!.Type);
        }
        Assert.True(Bodies.Threads > threads, "each abandoned body that still holds its thread is given one in its place");
        for (var i = 0; i < 3; i++)
            GateTasks.For("blocked-" + i).SetResult(i);
        AwaitAssert(() => Assert.Equal(threads, Bodies.Threads), TimeSpan.FromSeconds(5));
        worker.Tell(Run(Envelope("still", "tasks.add", "[2, 3]")));
        Assert.Equal(5, Completed("still").Result!.Value.GetInt32());
    }

    [Fact]
    public void A_synchronous_body_may_block_on_async_code_without_deadlocking_the_body_threads()
    {
        var worker = Worker(concurrency: 2, prefetch: 0);
        worker.Tell(Run(Envelope("s1", "test.sync_over_async", "[]"), Envelope("s2", "test.sync_over_async", "[]")));
        var results = Enumerable.Range(0, 2).Select(_ => TaskProbe.FishForMessage<CompleteAttempt>(_ => true, TimeSpan.FromSeconds(5))).ToArray();
        Assert.Equal(["s1", "s2"], results.Select(c => c.TaskId).Order());
        Assert.All(results, c => Assert.Equal(7, c.Result!.Value.GetInt32()));
    }

    [Fact]
    public void The_same_attempt_leased_twice_runs_once_and_the_second_lease_is_handed_back()
    {
        var worker = Worker(concurrency: 2, prefetch: 0);
        worker.Tell(Run(Envelope("twice", "test.gate", """["twice"]""")));
        Assert.Equal("twice", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        worker.Tell(Run(Envelope("twice", "test.gate", """["twice"]""")));
        Assert.Equal(["twice"], QueueProbe.FishForMessage<RequestTasks>(r => r.Finished.Count > 0).Finished.Select(l => l.TaskId));
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        GateTasks.For("twice").SetResult(1);
        Completed("twice");
        Assert.Empty(Stats(worker).Active);
    }

    [Fact]
    public void Tasks_leased_while_draining_are_given_back_at_once()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(Drain.Instance);
        ExpectMsg<Drained>();
        worker.Tell(Run(Envelope("late", "tasks.add", "[1, 1]")));
        var returned = QueueProbe.FishForMessage<WithdrawDemand>(w => w.Returned.Count > 0);
        Assert.Equal([new LeaseId("late", 0)], returned.Returned);
        Assert.Empty(Stats(worker).Reserved);
    }

    [Fact]
    public void A_result_over_the_limit_fails_the_task_with_result_too_large()
    {
        var worker = Sys.ActorOf(WorkerPool.Props(Registry, Settings(1, 0) with { MaxResultBytes = 1000 }, TaskProbe.Ref, QueueProbe.Ref, Bodies));
        QueueProbe.ExpectMsg<RequestTasks>();
        var big = JsonSerializer.Serialize(new string('x', 2000));
        worker.Tell(Run(Envelope("big", "tasks.echo", $"[{big}]"), Envelope("small", "tasks.echo", "[\"ok\"]")));
        var failed = Completed("big");
        Assert.Equal(AttemptOutcome.Failed, failed.Outcome);
        Assert.Equal("ResultTooLarge", failed.Error!.Type);
        Assert.Contains("jobs.tasks.max-result-size", failed.Error.Message);
        Assert.Equal("ok", Completed("small").Result!.Value.GetString());
    }

    [Fact]
    public void A_report_is_sent_again_until_its_entity_acknowledges_it()
    {
        var worker = Sys.ActorOf(WorkerPool.Props(Registry, Settings(1, 0) with { ReconcileInterval = TimeSpan.FromMilliseconds(200) },
            TaskProbe.Ref, QueueProbe.Ref, Bodies));
        worker.Tell(Run(Envelope("acked", "tasks.add", "[1, 1]")));
        var first = Completed("acked");
        Assert.Equal(first, Completed("acked"));
        TaskProbe.Reply(new AttemptRecorded("acked", 0));
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(700));
    }

    [Fact]
    public void Asked_about_an_attempt_the_worker_says_whether_it_runs_it_and_resends_a_report_it_holds()
    {
        var worker = Worker(concurrency: 1, prefetch: 0);
        worker.Tell(Run(Envelope("asked", "test.gate", """["asked"]""")));
        TaskProbe.ExpectMsg<MarkTaskStarted>();
        worker.Tell(new CheckAttempt("asked", 0));
        Assert.True(ExpectMsg<AttemptStatus>().Running);
        worker.Tell(new CheckAttempt("asked", 1));
        Assert.False(ExpectMsg<AttemptStatus>().Running);

        GateTasks.For("asked").SetResult(1);
        Completed("asked");
        worker.Tell(new CheckAttempt("asked", 0));
        Assert.True(ExpectMsg<AttemptStatus>().Running);
        Assert.Equal("asked", Completed("asked").TaskId);
        worker.Tell(new AttemptRecorded("asked", 0));
        worker.Tell(new CheckAttempt("asked", 0));
        Assert.False(ExpectMsg<AttemptStatus>().Running);
    }

    [Fact]
    public void A_worker_that_missed_the_last_batch_settles_past_it_and_syncs_again()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(new RunTasks("default", [Envelope("b1", "test.gate", """["b1"]""")], Batch: 1));
        TaskProbe.ExpectMsg<MarkTaskStarted>();
        worker.Tell(new LeasesSynced("default", LastBatch: 2));
        var sync = QueueProbe.FishForMessage<SyncLeases>(_ => true);
        Assert.Equal(2, sync.SettledBatch);
        Assert.Equal([new LeaseId("b1", 0)], sync.Held);
        Assert.Equal(1, sync.Credit);
        GateTasks.For("b1").SetResult(1);
    }

    [Fact]
    public void A_crashed_worker_comes_back_under_a_new_ref_so_its_queue_and_its_tasks_see_it_die()
    {
        Sys.ActorOf(WorkerPool.SupervisedProps(Registry, Settings(1, 0), TaskProbe.Ref, QueueProbe.Ref, Bodies), "supervised-worker");
        QueueProbe.ExpectMsg<RequestTasks>();
        var first = QueueProbe.LastSender;
        QueueProbe.Reply(new ConsumerRegistered("default"));
        first.Tell(Run(Envelope("held", "test.gate", """["held"]""")));
        Assert.Equal(first, TaskProbe.ExpectMsg<MarkTaskStarted>().WorkerRef);

        Watch(first);
        first.Tell(Kill.Instance);
        ExpectTerminated(first);
        QueueProbe.ExpectMsg<RequestTasks>(TimeSpan.FromSeconds(5));
        Assert.NotEqual(first, QueueProbe.LastSender);
        Sys.ActorSelection("/user/supervised-worker").Tell(GetWorkerStats.Instance, TestActor);
        Assert.Empty(ExpectMsg<WorkerStats>().Active);
        GateTasks.For("held").SetResult(1);
    }

    private IActorRef ReportingStartsAfter(TimeSpan delay)
    {
        var worker = Sys.ActorOf(WorkerPool.Props(Registry, Settings(2, 1) with { StartedReportDelay = delay }, TaskProbe.Ref, QueueProbe.Ref, Bodies));
        QueueProbe.ExpectMsg<RequestTasks>();
        QueueProbe.Reply(new ConsumerRegistered("default"));
        return worker;
    }

    [Fact]
    public void A_body_that_ends_within_the_started_report_delay_is_reported_once_with_its_start_untold()
    {
        var worker = ReportingStartsAfter(TimeSpan.FromSeconds(30));
        GateTasks.For("quick").SetResult(5);
        worker.Tell(Run(Envelope("quick", "test.gate", """["quick"]""")));
        var completed = TaskProbe.ExpectMsg<CompleteAttempt>();
        Assert.Equal(("quick", AttemptOutcome.Succeeded, true), (completed.TaskId, completed.Outcome, completed.StartUnreported));
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_body_still_running_after_the_started_report_delay_is_reported_started_then_finished()
    {
        var worker = ReportingStartsAfter(TimeSpan.FromMilliseconds(200));
        worker.Tell(Run(Envelope("long", "test.gate", """["long"]""")));
        var started = TaskProbe.ExpectMsg<MarkTaskStarted>(TimeSpan.FromSeconds(10));
        Assert.Equal(("long", 0, "worker@test"), (started.TaskId, started.Retries, started.Worker));
        GateTasks.For("long").SetResult(6);
        var completed = TaskProbe.ExpectMsg<CompleteAttempt>();
        Assert.Equal(("long", started.StartedAt, false), (completed.TaskId, completed.StartedAt, completed.StartUnreported));
    }
}
