using System.Text.Json;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Queues;
using Xunit;

namespace Jobs.Tests.Queues;

public sealed class QueueActorSpec() : TestKit("akka.loglevel = WARNING")
{
    private static readonly JsonElement Empty = JsonDocument.Parse("[]").RootElement.Clone();

    private static EnqueueTask Task(string id) =>
        new("default", new TaskEnvelope(id, "tasks.add", Empty, Empty, "default", 0, null));

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

        queue.Tell(new RequestTasks("default", 1, ["a"]), worker.Ref);
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
        queue.Tell(new RequestTasks("default", 0, ["a"]), doomed.Ref);

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
}
