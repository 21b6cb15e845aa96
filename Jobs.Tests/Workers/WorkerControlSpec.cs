using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Control;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;
using Xunit;

namespace Jobs.Tests.Workers;

/// <summary>Celery's remote control on one worker: limits, pool size and queues change while it runs, and it answers each change.</summary>
public sealed class WorkerControlSpec() : WorkerPoolHarness(bodyThreads: 1)
{
    private IActorRef Worker(int concurrency = 1, int prefetch = 0, params string[] queues)
    {
        queues = queues.Length == 0 ? ["default"] : queues;
        var worker = Sys.ActorOf(WorkerPool.Props(Registry, Settings(concurrency, prefetch, queues),
            TaskProbe.Ref, QueueProbe.Ref, Bodies));
        foreach (var _ in queues)
        {
            var request = QueueProbe.ExpectMsg<RequestTasks>();
            QueueProbe.Reply(new ConsumerRegistered(request.Queue));
        }
        return worker;
    }

    private static TaskEnvelope Envelope(string id, string name, string args, string queue = "default") =>
        new(id, name, JsonDocument.Parse(args).RootElement.Clone(), JsonDocument.Parse("{}").RootElement.Clone(), queue, 0, null);

    private WorkerControlReply Control(IActorRef worker, IWorkerControlCommand command)
    {
        worker.Tell(command, TestActor);
        return ExpectMsg<WorkerControlReply>();
    }

    private WorkerStats Stats(IActorRef worker)
    {
        worker.Tell(GetWorkerStats.Instance, TestActor);
        return ExpectMsg<WorkerStats>();
    }

    [Fact]
    public void Growing_the_pool_starts_waiting_tasks_and_asks_for_more_and_shrinking_never_goes_below_one()
    {
        var worker = Worker(concurrency: 1);
        worker.Tell(new RunTasks("default", [Envelope("p1", "test.gate", """["pool-1"]"""), Envelope("p2", "test.gate", """["pool-2"]""")]));
        Assert.Equal("p1", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        var grown = Control(worker, new ResizePool(2));
        Assert.True(grown.Ok);
        Assert.Equal("p2", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        Assert.Equal(3, Stats(worker).Concurrency);

        var refused = Control(worker, new ResizePool(-3));
        Assert.False(refused.Ok);
        Assert.Contains("at least one slot", refused.Message);
        Assert.True(Control(worker, new ResizePool(-2)).Ok);
        Assert.Equal(1, Stats(worker).Concurrency);
        GateTasks.For("pool-1").SetResult(1);
        GateTasks.For("pool-2").SetResult(2);
    }

    [Fact]
    public void Cancelling_a_consumer_gives_back_held_tasks_and_adding_one_asks_the_new_queue()
    {
        var worker = Worker(concurrency: 1, prefetch: 1);
        worker.Tell(new RunTasks("default", [Envelope("c1", "test.gate", """["consumer-1"]"""), Envelope("c2", "tasks.add", "[1, 1]")]));
        Assert.Equal("c1", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);

        Assert.True(Control(worker, new CancelConsumer("default")).Ok);
        var withdrawn = QueueProbe.ExpectMsg<WithdrawDemand>();
        Assert.Equal(["c2"], withdrawn.Returned.Select(l => l.TaskId));
        Assert.Empty(Stats(worker).Queues);
        Assert.False(Control(worker, new CancelConsumer("default")).Ok);

        // The running task's lease is still handed back when it finishes, with no new demand.
        GateTasks.For("consumer-1").SetResult(1);
        var finished = QueueProbe.FishForMessage<RequestTasks>(r => r.Finished.Any(l => l.TaskId == "c1"));
        Assert.Equal(0, finished.Demand);

        Assert.True(Control(worker, new AddConsumer("images")).Ok);
        var request = QueueProbe.FishForMessage<RequestTasks>(r => r.Queue == "images");
        Assert.True(request.Demand > 0);
        Assert.Equal(["images"], Stats(worker).Queues);
    }

    [Fact]
    public void A_rate_limit_set_remotely_holds_tasks_back_until_it_is_lifted()
    {
        var worker = Worker(concurrency: 1);
        Assert.True(Control(worker, new SetRateLimit("tasks.add", "1/h")).Ok);
        worker.Tell(new RunTasks("default", [Envelope("r1", "tasks.add", "[1, 1]"), Envelope("r2", "tasks.add", "[2, 2]")]));
        Assert.Equal("r1", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        TaskProbe.ExpectMsg<CompleteAttempt>();
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        Assert.True(Control(worker, new SetRateLimit("tasks.add", null)).Ok);
        Assert.Equal("r2", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
    }

    [Fact]
    public void A_hard_time_limit_set_remotely_ends_the_next_attempt_with_time_limit_exceeded()
    {
        var worker = Worker(concurrency: 1);
        Assert.True(Control(worker, new SetTimeLimit("test.gate", 0, 0.2)).Ok);
        worker.Tell(new RunTasks("default", [Envelope("t1", "test.gate", """["never-opened"]""")]));
        var failed = TaskProbe.FishForMessage<CompleteAttempt>(c => c.TaskId == "t1");
        Assert.Equal(AttemptOutcome.Failed, failed.Outcome);
        Assert.Equal("TimeLimitExceeded", failed.Error!.Type);
    }

    [Fact]
    public void Limits_for_a_task_the_worker_does_not_know_are_refused()
    {
        var worker = Worker();
        var reply = Control(worker, new SetRateLimit("tasks.nope", "10/s"));
        Assert.False(reply.Ok);
        Assert.Contains("tasks.nope", reply.Message);
        Assert.False(Control(worker, new SetTimeLimit("tasks.nope", 1, 2)).Ok);
    }

    [Fact]
    public void A_rate_limit_too_slow_to_keep_time_is_refused_and_the_worker_keeps_running()
    {
        var worker = Worker(concurrency: 1);
        var refused = Control(worker, new SetRateLimit("tasks.add", "1e-20/s"));
        Assert.False(refused.Ok);
        Assert.Contains("too slow", refused.Message);
        worker.Tell(new RunTasks("default", [Envelope("after-rate", "tasks.add", "[1, 1]")]));
        Assert.Equal(2, TaskProbe.FishForMessage<CompleteAttempt>(c => c.TaskId == "after-rate").Result!.Value.GetInt32());
    }

    [Fact]
    public void A_time_limit_beyond_what_a_timer_holds_is_refused_and_the_worker_keeps_running()
    {
        var worker = Worker(concurrency: 1);
        var refused = Control(worker, new SetTimeLimit("tasks.add", 0, 1e20));
        Assert.False(refused.Ok);
        Assert.Contains("30 days", refused.Message);
        worker.Tell(new RunTasks("default", [Envelope("after-limit", "tasks.add", "[2, 2]")]));
        Assert.Equal(4, TaskProbe.FishForMessage<CompleteAttempt>(c => c.TaskId == "after-limit").Result!.Value.GetInt32());
    }

    [Theory]
    [InlineData("10/s", "10/s")]
    [InlineData("100/m", "100/m")]
    [InlineData("2.5", "2.5/s")]
    [InlineData("0", null)]
    [InlineData("0/s", null)]
    [InlineData("0.0/h", null)]
    [InlineData("off", null)]
    public void The_control_commands_take_celery_rates_and_zero_means_no_limit(string given, string? expected) =>
        Assert.Equal(expected, WorkerControl.ParseRate(given));

    [Theory]
    [InlineData("1e-20", "too slow")]
    [InlineData("0.0000000000001/s", "too slow")]
    [InlineData("0.01/h", "too slow")]
    [InlineData("-1/s", "not a rate limit")]
    [InlineData("10/d", "not a rate limit")]
    [InlineData("NaN", "not a rate limit")]
    [InlineData("ten/s", "not a rate limit")]
    public void The_control_commands_refuse_a_rate_the_worker_could_not_keep_with_the_reason(string given, string reason) =>
        Assert.Contains(reason, Assert.Throws<CommandException>(() => WorkerControl.ParseRate(given)).Message);

    [Fact]
    public void The_control_commands_refuse_a_time_limit_beyond_thirty_days()
    {
        Assert.Contains("30 days", Assert.Throws<CommandException>(() => WorkerControl.ParseSeconds("1e20", "hard")).Message);
        Assert.Equal(60, WorkerControl.ParseSeconds("60", "hard"));
    }
}
