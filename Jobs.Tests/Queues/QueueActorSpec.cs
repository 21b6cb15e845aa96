using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Queues;

public sealed class QueueActorSpec() : TestKit("akka.loglevel = WARNING")
{
    private static readonly JsonElement Empty = JsonDocument.Parse("[]").RootElement.Clone();

    private static EnqueueTask Task(string id, int retries = 0, JsonElement? args = null) =>
        new("default", new TaskEnvelope(id, "tasks.add", args ?? Empty, Empty, "default", retries, null));

    private static LeaseId Lease(string id, int retries = 0) => new(id, retries);

    private TestProbe RegisteredWorker(IActorRef queue, int demand)
    {
        var worker = CreateTestProbe();
        queue.Tell(new RequestTasks("default", demand, []), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        return worker;
    }

    private IActorRef Queue() => Sys.ActorOf(QueueActor.Props("default"));

    private static string[] Ids(RunTasks run) => run.Tasks.Select(t => t.TaskId).ToArray();

    [Fact]
    public void Tasks_go_out_only_against_demand_and_in_order()
    {
        var queue = Queue();
        foreach (var id in new[] { "a", "b", "c" })
        {
            queue.Tell(Task(id));
            ExpectMsg<TaskEnqueued>();
        }
        var worker = CreateTestProbe();
        queue.Tell(new RequestTasks("default", 2, []), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        Assert.Equal(["a", "b"], Ids(worker.ExpectMsg<RunTasks>()));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        queue.Tell(new RequestTasks("default", 1, [new LeaseId("a", 0)]), worker.Ref);
        Assert.Equal(["c"], Ids(worker.ExpectMsg<RunTasks>()));
    }

    [Fact]
    public void A_task_enqueued_twice_is_queued_once()
    {
        var queue = Queue();
        queue.Tell(Task("a"));
        queue.Tell(Task("a"));
        ExpectMsg<TaskEnqueued>();
        ExpectMsg<TaskEnqueued>();
        queue.Tell(new GetQueueStats("default"));
        Assert.Equal(1, ExpectMsg<QueueStats>().Waiting);
    }

    [Fact]
    public void A_leased_task_enqueued_again_is_not_handed_out_twice()
    {
        var queue = Queue();
        var worker = CreateTestProbe();
        queue.Tell(new RequestTasks("default", 5, []), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        queue.Tell(Task("a"));
        worker.ExpectMsg<RunTasks>();
        queue.Tell(Task("a"));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void The_unfinished_leases_of_a_dead_worker_go_to_another_worker()
    {
        var queue = Queue();
        var doomed = CreateTestProbe();
        queue.Tell(new RequestTasks("default", 2, []), doomed.Ref);
        doomed.ExpectMsg<ConsumerRegistered>();
        queue.Tell(Task("a"));
        queue.Tell(Task("b"));
        doomed.ExpectMsg<RunTasks>();
        doomed.ExpectMsg<RunTasks>();
        queue.Tell(new RequestTasks("default", 0, [new LeaseId("a", 0)]), doomed.Ref);

        var survivor = CreateTestProbe();
        queue.Tell(new RequestTasks("default", 5, []), survivor.Ref);
        survivor.ExpectMsg<ConsumerRegistered>();
        Sys.Stop(doomed.Ref);
        Assert.Equal(["b"], Ids(survivor.ExpectMsg<RunTasks>()));
    }

    [Fact]
    public void Work_is_shared_round_robin_between_workers()
    {
        var queue = Queue();
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        queue.Tell(new RequestTasks("default", 10, []), first.Ref);
        queue.Tell(new RequestTasks("default", 10, []), second.Ref);
        first.ExpectMsg<ConsumerRegistered>();
        second.ExpectMsg<ConsumerRegistered>();
        for (var i = 0; i < 4; i++)
            queue.Tell(Task("t" + i));
        var firstGot = Enumerable.Range(0, 2).SelectMany(_ => Ids(first.ExpectMsg<RunTasks>())).ToArray();
        var secondGot = Enumerable.Range(0, 2).SelectMany(_ => Ids(second.ExpectMsg<RunTasks>())).ToArray();
        Assert.Equal(["t0", "t2"], firstGot);
        Assert.Equal(["t1", "t3"], secondGot);
    }

    [Fact]
    public void A_forgotten_task_leaves_the_queue_or_is_cancelled_on_its_worker()
    {
        var queue = Queue();
        queue.Tell(Task("a"));
        queue.Tell(Task("b"));
        ExpectMsg<TaskEnqueued>();
        ExpectMsg<TaskEnqueued>();
        queue.Tell(new ForgetTask("default", "b", false));
        var worker = CreateTestProbe();
        queue.Tell(new RequestTasks("default", 5, []), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        Assert.Equal(["a"], Ids(worker.ExpectMsg<RunTasks>()));

        queue.Tell(new ForgetTask("default", "a", true));
        Assert.Equal(("a", true), worker.ExpectMsg<CancelAttempt>() is var c ? (c.TaskId, c.Terminate) : default);
    }

    [Fact]
    public void A_retry_enqueued_before_the_finished_ack_of_its_previous_attempt_is_dispatched()
    {
        var queue = Queue();
        var worker = RegisteredWorker(queue, 5);
        queue.Tell(Task("r"));
        ExpectMsg<TaskEnqueued>();
        Assert.Equal(["r"], Ids(worker.ExpectMsg<RunTasks>()));

        // A zero-countdown retry: the entity enqueues attempt 1 before the worker hands back the lease of attempt 0.
        queue.Tell(Task("r", retries: 1));
        ExpectMsg<TaskEnqueued>();
        var retry = worker.ExpectMsg<RunTasks>();
        Assert.Equal(("r", 1), (retry.Tasks.Single().TaskId, retry.Tasks.Single().Retries));
        queue.Tell(new RequestTasks("default", 0, [Lease("r", 0)]), worker.Ref);
        queue.Tell(new GetQueueStats("default"));
        Assert.Equal(1, ExpectMsg<QueueStats>().Leased);
    }

    [Fact]
    public void A_newer_attempt_replaces_an_older_one_still_waiting()
    {
        var queue = Queue();
        queue.Tell(Task("n"));
        queue.Tell(Task("n", retries: 1));
        ExpectMsg<TaskEnqueued>();
        ExpectMsg<TaskEnqueued>();
        var worker = RegisteredWorker(queue, 5);
        var run = worker.ExpectMsg<RunTasks>();
        Assert.Equal(1, run.Tasks.Single().Retries);
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_batch_the_worker_never_received_is_handed_to_its_entities_at_the_next_sync()
    {
        var queue = Queue();
        var worker = RegisteredWorker(queue, 2);
        queue.Tell(Task("lost"));
        ExpectMsg<TaskEnqueued>();
        var lostBatch = worker.ExpectMsg<RunTasks>();

        // The worker never saw that batch: the queue's answer to its sync names it, and the worker settles past it.
        queue.Tell(new SyncLeases("default", 2, [], 0), worker.Ref);
        Assert.Equal(lostBatch.Batch, worker.ExpectMsg<LeasesSynced>().LastBatch);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        queue.Tell(new SyncLeases("default", 2, [], lostBatch.Batch), worker.Ref);
        worker.ExpectMsg<LeasesSynced>();
        Assert.Equal(Lease("lost"), ExpectMsg<LeaseLost>() is var lost ? new LeaseId(lost.TaskId, lost.Retries) : null);

        queue.Tell(Task("lost"));
        ExpectMsg<TaskEnqueued>();
        var again = worker.ExpectMsg<RunTasks>();
        Assert.Equal(["lost"], Ids(again));
        Assert.True(again.Batch > lostBatch.Batch);
    }

    [Fact]
    public void A_sync_keeps_the_leases_the_worker_holds_and_those_still_on_their_way()
    {
        var queue = Queue();
        var worker = RegisteredWorker(queue, 2);
        queue.Tell(Task("held"));
        queue.Tell(Task("coming"));
        var first = worker.ExpectMsg<RunTasks>();
        worker.ExpectMsg<RunTasks>();
        queue.Tell(new SyncLeases("default", 0, [Lease("held")], first.Batch), worker.Ref);
        worker.ExpectMsg<LeasesSynced>();
        ExpectMsg<TaskEnqueued>();
        ExpectMsg<TaskEnqueued>();
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        queue.Tell(new GetQueueStats("default"));
        Assert.Equal(2, ExpectMsg<QueueStats>().Leased);
    }

    [Fact]
    public void Demand_stated_by_a_sync_is_absolute_so_repeated_requests_never_add_up()
    {
        var queue = Queue();
        var worker = RegisteredWorker(queue, 2);
        queue.Tell(new RequestTasks("default", 2, []), worker.Ref);
        queue.Tell(new RequestTasks("default", 2, []), worker.Ref);
        queue.Tell(new SyncLeases("default", 2, [], 0), worker.Ref);
        worker.ExpectMsg<LeasesSynced>();
        for (var i = 0; i < 5; i++)
            queue.Tell(Task("d" + i));
        Assert.Equal(2, Enumerable.Range(0, 2).Sum(_ => worker.ExpectMsg<RunTasks>().Tasks.Count));
        worker.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_sync_from_a_worker_the_queue_does_not_know_registers_it()
    {
        var queue = Queue();
        queue.Tell(Task("s"));
        var worker = CreateTestProbe();
        queue.Tell(new SyncLeases("default", 1, [], 0), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        worker.ExpectMsg<LeasesSynced>();
        Assert.Equal(["s"], Ids(worker.ExpectMsg<RunTasks>()));
    }

    [Fact]
    public void A_batch_is_split_by_bytes_so_it_fits_in_a_remoting_frame()
    {
        var queue = Sys.ActorOf(QueueActor.Props("default", maxBatchBytes: 45_000));
        var large = JsonDocument.Parse(JsonSerializer.Serialize(new[] { new string('x', 20_000) })).RootElement.Clone();
        for (var i = 0; i < 3; i++)
            queue.Tell(Task("big" + i, args: large));
        var worker = RegisteredWorker(queue, 3);
        var batches = Enumerable.Range(0, 2).Select(_ => worker.ExpectMsg<RunTasks>()).ToArray();
        Assert.Equal([2, 1], batches.Select(b => b.Tasks.Count));
        Assert.Equal([1L, 2L], batches.Select(b => b.Batch));
    }

    [Fact]
    public void A_queue_that_fails_stops_so_that_its_entities_and_workers_see_it_die()
    {
        var queue = Queue();
        RegisteredWorker(queue, 1);
        Watch(queue);
        queue.Tell(new EnqueueTask("default", null!));
        ExpectTerminated(queue);
    }
}
