using System.Text.Json;
using Akka.Actor;
using Akka.TestKit;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;
using Xunit;

namespace Jobs.Tests.Workers;

/// <summary>
/// A worker whose process was paused (chaos finding 7): the test owns its monotonic clock, so moving the clock on is a
/// pause as the worker sees it, and two probes stand for the other members' witnesses.
/// </summary>
public sealed class WorkerPauseSpec() : WorkerPoolHarness(bodyThreads: 2)
{
    private static readonly ConfirmMember Self = new("akka.tcp://jobs@127.0.0.1:5000", 42);

    private TimeSpan _now;

    private sealed class FakeMembership(IReadOnlyList<ICanTell> witnesses) : IMembership
    {
        public ConfirmMember Self => WorkerPauseSpec.Self;

        public IReadOnlyList<ICanTell> Witnesses() => witnesses;
    }

    private IActorRef Worker(params TestProbe[] witnesses)
    {
        var settings = Settings(concurrency: 2, prefetch: 2) with { PauseConfirmInterval = TimeSpan.FromHours(1) };
        var worker = Sys.ActorOf(WorkerPool.Props(Registry, settings, TaskProbe.Ref, QueueProbe.Ref, Bodies,
            new FakeMembership(witnesses.Select(w => (ICanTell)w.Ref).ToArray()), () => _now));
        QueueProbe.ExpectMsg<RequestTasks>();
        QueueProbe.Reply(new ConsumerRegistered("default"));
        return worker;
    }

    private static RunTasks Run(params string[] ids) =>
        new("default", ids.Select(id => new TaskEnvelope(id, "tasks.add", JsonDocument.Parse("[1, 2]").RootElement.Clone(),
            JsonDocument.Parse("{}").RootElement.Clone(), "default", 0, null)).ToArray());

    [Fact]
    public void A_worker_runs_what_it_is_given_at_once_when_it_was_not_paused()
    {
        var witness = CreateTestProbe();
        var worker = Worker(witness);
        worker.Tell(Run("t1"));
        Assert.Equal("t1", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
        witness.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void After_a_pause_a_worker_starts_nothing_until_most_other_members_confirm_it_is_still_up()
    {
        var (first, second, third) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var worker = Worker(first, second, third);
        _now += TimeSpan.FromSeconds(16);
        // The backlog queued while it was frozen reaches it first.
        worker.Tell(Run("b1", "b2"));
        foreach (var witness in new[] { first, second, third })
            Assert.Equal(Self, witness.ExpectMsg<ConfirmMember>());
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        first.Reply(new MemberStatusSeen(Self.Address, Self.Uid, "Up"));
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        second.Reply(new MemberStatusSeen(Self.Address, Self.Uid, "Up"));
        Assert.Equal(["b1", "b2"], new[] { TaskProbe.ExpectMsg<MarkTaskStarted>(), TaskProbe.ExpectMsg<MarkTaskStarted>() }.Select(s => s.TaskId).Order());
    }

    [Fact]
    public void A_worker_a_member_saw_downed_during_its_pause_starts_none_of_its_backlog()
    {
        var (first, second) = (CreateTestProbe(), CreateTestProbe());
        var worker = Worker(first, second);
        _now += TimeSpan.FromSeconds(16);
        worker.Tell(Run("d1", "d2", "d3"));
        first.ExpectMsg<ConfirmMember>();
        second.ExpectMsg<ConfirmMember>();

        first.Reply(new MemberStatusSeen(Self.Address, Self.Uid, "Down"));
        second.Reply(new MemberStatusSeen(Self.Address, Self.Uid, "Up"));
        worker.Tell(Run("d4"));
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        worker.Tell(GetWorkerStats.Instance);
        var stats = ExpectMsg<WorkerStats>();
        Assert.Empty(stats.Active);
        Assert.Equal(["d1", "d2", "d3", "d4"], stats.Reserved.Order());
    }

    [Fact]
    public void A_late_pause_check_is_a_pause_even_before_any_task_arrives()
    {
        var witness = CreateTestProbe();
        var worker = Worker(witness);
        _now += TimeSpan.FromSeconds(5);
        // The next periodic check (every 250 ms) sees itself 5 s late.
        Assert.Equal(Self, witness.ExpectMsg<ConfirmMember>());
        worker.Tell(Run("p1"));
        TaskProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        witness.Reply(new MemberStatusSeen(Self.Address, Self.Uid, "Up"));
        Assert.Equal("p1", TaskProbe.ExpectMsg<MarkTaskStarted>().TaskId);
    }
}
