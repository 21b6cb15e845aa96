using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Queues;

/// <summary>
/// Queue partitions: two nodes' <see cref="QueueHost"/>s in one actor system, told each other as peers (as cluster
/// membership tells them on a cluster). Probes stand in for workers and task entities, unless a spec is about entities.
/// </summary>
public sealed class QueuePartitionSpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.loglevel = WARNING
        """);

    private static readonly JsonElement Empty = JsonDocument.Parse("[]").RootElement.Clone();
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{}").RootElement.Clone();

    private static readonly QueueSettings Settings = new(QueueSettings.Default.MaxBatchBytes)
    {
        StealInterval = TimeSpan.FromMilliseconds(50),
        FindTimeout = TimeSpan.FromSeconds(2),
        SyncInterval = TimeSpan.FromSeconds(1),
    };

    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    public QueuePartitionSpec() : base(Config)
    {
    }

    private (IActorRef A, IActorRef B) TwoNodes()
    {
        var a = Sys.ActorOf(QueueHost.Props(Settings, holdsPartitions: true, partitionRole: null), "queues-a");
        var b = Sys.ActorOf(QueueHost.Props(Settings, holdsPartitions: true, partitionRole: null), "queues-b");
        a.Tell(new PeerHosts([b]));
        b.Tell(new PeerHosts([a]));
        return (a, b);
    }

    private static EnqueueTask Task(string id, string queue = "default", bool reclaim = false) =>
        new(queue, new TaskEnvelope(id, "tasks.add", Empty, Empty, queue, 0, null), reclaim);

    private static LeaseId Lease(string id) => new(id, 0);

    /// <summary>A worker of one node: registered with its host, asking for <paramref name="demand"/> of which <paramref name="idle"/> can start now.</summary>
    private TestProbe Worker(IActorRef host, int demand, int idle, string queue = "default")
    {
        var worker = CreateTestProbe();
        host.Tell(new RequestTasks(queue, demand, [], idle), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        return worker;
    }

    private TestProbe Entity(IActorRef host, string id, string queue = "default", bool reclaim = false)
    {
        var entity = CreateTestProbe();
        host.Tell(Task(id, queue, reclaim), entity.Ref);
        entity.ExpectMsg<TaskEnqueued>();
        return entity;
    }

    private static string[] Ids(RunTasks run) => run.Tasks.Select(t => t.TaskId).ToArray();

    private QueueStats Stats(IActorRef host, string queue = "default")
    {
        host.Tell(new GetQueueStats(queue));
        return ExpectMsg<QueueStats>();
    }

    [Fact]
    public void A_partition_fills_its_own_workers_idle_slots_then_other_nodes_idle_slots_then_its_own_prefetch()
    {
        var queue = Sys.ActorOf(QueueActor.Props("default", Settings));
        var worker = CreateTestProbe();
        queue.Tell(new RequestTasks("default", 4, [], Idle: 1), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        // Another node's partition, whose workers have one idle slot and nothing queued.
        var borrower = CreateTestProbe();
        queue.Tell(new Borrow("default", 1, 1, [], 0, []), borrower.Ref);
        borrower.ExpectMsg<ConsumerRegistered>();
        borrower.ExpectMsg<LeasesSynced>();

        foreach (var id in new[] { "local", "lent", "prefetched" })
            queue.Tell(Task(id));
        Assert.Equal(["local"], Ids(worker.ExpectMsg<RunTasks>()));
        Assert.Equal(["lent"], Ids(borrower.ExpectMsg<RunTasks>()));
        Assert.Equal(["prefetched"], Ids(worker.ExpectMsg<RunTasks>()));
    }

    [Fact]
    public void A_task_runs_on_the_node_of_its_entity_while_that_node_has_an_idle_slot()
    {
        var (a, b) = TwoNodes();
        var here = Worker(a, 6, 2);
        var there = Worker(b, 6, 2);
        for (var i = 0; i < 2; i++)
        {
            Entity(a, "a" + i);
            Assert.Equal(["a" + i], Ids(here.ExpectMsg<RunTasks>()));
            Entity(b, "b" + i);
            Assert.Equal(["b" + i], Ids(there.ExpectMsg<RunTasks>()));
        }
        here.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        there.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public void A_node_whose_workers_wait_borrows_what_another_node_cannot_start()
    {
        var (a, b) = TwoNodes();
        var busy = Worker(a, 1, 1);
        var idle = Worker(b, 2, 2);
        var entities = new[] { "first", "second", "third" }.Select(id => Entity(a, id)).ToArray();
        Assert.Equal(["first"], Ids(busy.ExpectMsg<RunTasks>()));
        var lent = new List<string>();
        while (lent.Count < 2)
            lent.AddRange(Ids(idle.ExpectMsg<RunTasks>(Soon)));
        Assert.Equal(["second", "third"], lent);

        // The borrowing node's worker finishes them: the lease goes back to the lender, which holds nothing any more.
        b.Tell(new RequestTasks("default", 2, [Lease("second"), Lease("third")], 2), idle.Ref);
        AwaitAssert(() => Assert.Equal((0, 1), Stats(a) is var s ? (s.Waiting, s.Leased) : default), Soon);
        // Had the lender not ended them, the borrower's next Borrow (holding none) would have them told lost.
        entities[0].ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        Assert.All(entities, e => e.ExpectNoMsg(TimeSpan.Zero));
    }

    [Fact]
    public void A_task_for_a_queue_only_another_node_consumes_runs_there()
    {
        var (a, b) = TwoNodes();
        var here = Worker(a, 6, 2);
        var images = Worker(b, 6, 2, "images");
        Entity(a, "picture", "images");
        Assert.Equal(["picture"], Ids(images.ExpectMsg<RunTasks>(Soon)));
        Entity(a, "sum");
        Assert.Equal(["sum"], Ids(here.ExpectMsg<RunTasks>()));
    }

    [Fact]
    public void A_task_for_a_queue_nobody_consumes_waits_and_runs_when_a_consumer_appears_on_any_node()
    {
        var (a, b) = TwoNodes();
        Entity(a, "report", "reports");
        Assert.Equal(1, Stats(a, "reports").Waiting);
        var late = Worker(b, 6, 2, "reports");
        Assert.Equal(["report"], Ids(late.ExpectMsg<RunTasks>(Soon)));
    }

    [Fact]
    public void A_borrowed_task_whose_borrowing_worker_dies_goes_back_to_the_node_it_came_from()
    {
        var (a, b) = TwoNodes();
        var entity = Entity(a, "orphan");
        var thief = Worker(b, 2, 2);
        Assert.Equal(["orphan"], Ids(thief.ExpectMsg<RunTasks>(Soon)));
        Sys.Stop(thief.Ref);

        // No worker on the borrowing node wants it now: it is handed back, and the first worker of its own node gets it.
        var owner = CreateTestProbe();
        a.Tell(new RequestTasks("default", 2, [], 2), owner.Ref);
        owner.ExpectMsg<ConsumerRegistered>();
        Assert.Equal(["orphan"], Ids(owner.ExpectMsg<RunTasks>(Soon)));
        entity.ExpectNoMsg(TimeSpan.Zero);
    }

    [Fact]
    public void A_borrowed_task_goes_back_to_its_entity_when_the_borrowing_partition_dies()
    {
        var (a, b) = TwoNodes();
        var entity = Entity(a, "stolen");
        var thief = Worker(b, 2, 2);
        Assert.Equal(["stolen"], Ids(thief.ExpectMsg<RunTasks>(Soon)));

        // The partition fails alone (its node lives on): the entity decides whether the attempt must run again.
        b.Tell(new EnqueueTask("default", null!));
        Assert.Equal(("stolen", 0), entity.ExpectMsg<LeaseLost>(Soon) is var lost ? (lost.TaskId, lost.Retries) : default);
        a.Tell(Task("stolen"), entity.Ref);
        entity.ExpectMsg<TaskEnqueued>();
        Assert.Equal(1, Stats(a).Waiting);
    }

    [Fact]
    public void A_reclaimed_attempt_held_by_another_node_is_taken_over_there_not_queued_twice()
    {
        var (a, b) = TwoNodes();
        var holder = Worker(a, 2, 2);
        Entity(a, "moved");
        Assert.Equal(["moved"], Ids(holder.ExpectMsg<RunTasks>()));

        // Its entity's new incarnation, on the other node, enqueues the same attempt again.
        var reincarnation = Entity(b, "moved", reclaim: true);
        reincarnation.ExpectMsg<TaskEnqueued>(Soon);
        Assert.Equal(a.Path / "default", reincarnation.LastSender.Path);
        var other = Worker(b, 2, 2);
        other.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var total = Stats(b);
        Assert.Equal((0, 1), (total.Waiting, total.Leased));

        // The holder tells the new incarnation when it loses the lease.
        a.Tell(new SyncLeases("default", 2, [], 1), holder.Ref);
        reincarnation.ExpectMsg<LeaseLost>();
    }

    [Fact]
    public void A_reclaimed_attempt_no_node_holds_is_queued_once_every_node_has_answered()
    {
        var (a, b) = TwoNodes();
        var worker = Worker(b, 2, 2);
        Entity(b, "recovered", reclaim: true);
        Assert.Equal(["recovered"], Ids(worker.ExpectMsg<RunTasks>(Soon)));
        Assert.Equal(0, Stats(a).Waiting);
    }

    [Fact]
    public void A_queue_s_length_is_summed_over_the_partitions_of_every_node()
    {
        var (a, b) = TwoNodes();
        Entity(a, "x");
        Entity(b, "y");
        Entity(b, "z");
        var stats = Stats(a);
        Assert.Equal(3, stats.Waiting);
        Assert.Equal([1, 2], stats.Partitions!.Select(p => p.Waiting).Order());
    }

    [Fact]
    public void A_partition_that_fails_on_a_live_node_is_fed_again_by_its_entities()
    {
        var (a, _) = TwoNodes();
        var worker = Worker(a, 1, 1);
        var entity = Sys.ActorOf(TaskEntity.Props("refed", a, new TaskEntitySettings(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(30))));
        entity.Tell(new SubmitTask("refed", "tasks.add", Args, Kwargs, "default"));
        Assert.Equal(TaskState.Received, ExpectMsg<TaskResult>().State);
        var first = worker.ExpectMsg<RunTasks>();
        Assert.Equal(["refed"], Ids(first));
        var partition = worker.LastSender;

        Watch(partition);
        a.Tell(new EnqueueTask("default", null!));
        ExpectTerminated(partition);
        // The entity enqueues again (asking the other node first); the worker, which saw the partition die, asks its successor.
        AwaitAssert(() => Assert.Equal(1, Stats(a).Waiting), Soon);
        a.Tell(new RequestTasks("default", 1, [], 1), worker.Ref);
        worker.ExpectMsg<ConsumerRegistered>();
        Assert.Equal(["refed"], Ids(worker.ExpectMsg<RunTasks>()));
        Assert.NotEqual(partition, worker.LastSender);
    }
}
