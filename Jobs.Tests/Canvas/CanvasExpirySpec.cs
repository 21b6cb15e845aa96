using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Canvas;
using Jobs.Actors.Persistence;
using Jobs.Actors.Retention;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Canvas;

/// <summary>
/// Canvases expire with their results (issue 17): the final event carries the expiry only once the canvas is settled
/// (finished, and every member it sent finished too), the expiry index entry goes with it, an expired canvas reads
/// PENDING, and expiring purges its members batch by batch and then itself. Time is virtual; the task region is a probe.
/// </summary>
public sealed class CanvasExpirySpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """).WithFallback(ControllableJournal.Config);

    private static readonly TimeSpan NodeDefault = TimeSpan.FromMinutes(10);

    private static readonly CanvasSettings Settings = new(new TaskRoutes("default", []), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10),
        SnapshotEvery: 100, MaxInFlight: 100) { ResultExpires = NodeDefault };

    private readonly TestProbe _tasks;
    private readonly RecordingRetention _journal = new();

    public CanvasExpirySpec() : base(Config)
    {
        _tasks = CreateTestProbe();
        Sys.ActorOf(ResultPurger.Props(_journal, null), ResultPurger.Name);
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Coordinator(string id) => ChildActorOf(CanvasEntity.Props(id, _tasks.Ref, Settings));

    private static TaskResult Succeeded(SubmitTask task) =>
        new(task.TaskId, TaskState.Success, JsonSerializer.SerializeToElement(task.Args.EnumerateArray().Sum(a => a.GetInt64())), null);

    private static TaskResult Failed(SubmitTask task) => new(task.TaskId, TaskState.Failure, null, new TaskError("ValueError", "boom", ""));

    private IReadOnlyList<ICanvasEvent> Journaled(string canvasId)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        var probe = CreateTestProbe();
        journal.Tell(new ReplayMessages(0, long.MaxValue, long.MaxValue, CanvasEntity.PersistenceIdOf(canvasId), probe.Ref));
        var events = new List<ICanvasEvent>();
        while (probe.ExpectMsg<object>() is ReplayedMessage replayed)
            events.Add((ICanvasEvent)replayed.Persistent.Payload);
        return events;
    }

    /// <summary>Read by a probe of its own: the test actor is the coordinator's parent, which passivations go to.</summary>
    private CanvasResult Read(IActorRef coordinator, string id)
    {
        var reader = CreateTestProbe();
        coordinator.Tell(new GetCanvasResult(id), reader.Ref);
        return reader.ExpectMsg<CanvasResult>();
    }

    [Fact]
    public void A_chord_expires_the_calls_result_expires_after_its_body_finished_and_then_reads_pending()
    {
        var coordinator = Coordinator("c-body");
        var chord = Signature.Chord([Signature.Of("tasks.add", 1, 1), Signature.Of("tasks.add", 2, 2)], Signature.Of("tasks.xsum"));
        coordinator.Tell(new StartCanvas("c-body", chord, TimeSpan.FromSeconds(30)));
        ExpectMsg<CanvasAccepted>();
        var header = _tasks.ReceiveN(2).Cast<SubmitTask>().ToList();
        // Members are kept by their own rules for ever: the canvas expires them.
        Assert.All(header, member => Assert.Equal(TimeSpan.Zero, member.ResultExpires));
        foreach (var member in header)
            coordinator.Tell(Succeeded(member));
        var body = _tasks.ExpectMsg<SubmitTask>(s => s.Name == "tasks.xsum");

        // However long the body takes, nothing of the chord expires while it runs.
        Scheduler.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(TaskState.Started, Read(coordinator, "c-body").State);
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.IsType<CanvasStarted>(Journaled("c-body")[0]).ResultExpires);

        var finishedAt = Scheduler.Now;
        coordinator.Tell(Succeeded(body with { Args = JsonSerializer.SerializeToElement(new[] { 6 }) }));
        coordinator.Tell(new AwaitCanvasResult("c-body"));
        Assert.Equal(TaskState.Success, ExpectMsg<CanvasResult>().State);
        var final = Assert.IsType<CanvasFinished>(Journaled("c-body")[^1]);
        Assert.Equal(finishedAt + TimeSpan.FromSeconds(30), final.ResultExpiresAt);
        Assert.Equal((CanvasEntity.PersistenceIdOf("c-body"), finishedAt + TimeSpan.FromSeconds(30)), ExpiryEntries.Of(final));

        Scheduler.Advance(TimeSpan.FromSeconds(30));
        var expired = Read(coordinator, "c-body");
        Assert.Equal(TaskState.Pending, expired.State);
        Assert.True(expired.ResultExpired);
        Assert.Empty(expired.Members);
        var drawer = CreateTestProbe();
        coordinator.Tell(new GetCanvasTree("c-body"), drawer.Ref);
        Assert.Null(drawer.ExpectMsg<CanvasTree>().Root);
    }

    [Fact]
    public void A_group_that_failed_while_members_ran_settles_only_once_they_finished_and_expires_from_then()
    {
        var coordinator = Coordinator("c-fail");
        coordinator.Tell(new StartCanvas("c-fail", Signature.Group(Signature.Of("tasks.add", 1, 1), Signature.Of("tasks.add", 2, 2))));
        ExpectMsg<CanvasAccepted>();
        var members = _tasks.ReceiveN(2).Cast<SubmitTask>().ToList();
        coordinator.Tell(Failed(members[0]));
        coordinator.Tell(new AwaitCanvasResult("c-fail"));
        Assert.Equal(TaskState.Failure, ExpectMsg<CanvasResult>().State);
        var outcome = Assert.IsType<CanvasFinished>(Journaled("c-fail")[^1]);
        Assert.Null(outcome.ResultExpiresAt);
        Assert.Equal([members[1].TaskId], outcome.StillRunning);
        Assert.Null(ExpiryEntries.Of(outcome));
        coordinator.Tell(new ExpireCanvas("c-fail", 10));
        Assert.Contains("not settled", ExpectMsg<CommandFailed>().Reason);

        // Still asked for, as before the outcome, and not passivated meanwhile.
        Scheduler.Advance(Settings.ReaskInterval);
        Assert.Equal(members[1], _tasks.ExpectMsg<SubmitTask>());
        Scheduler.Advance(Settings.PassivateAfter);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var settledAt = Scheduler.Now;
        coordinator.Tell(Succeeded(members[1]));
        AwaitAssert(() => Assert.IsType<CanvasSettled>(Journaled("c-fail")[^1]));
        var settled = (CanvasSettled)Journaled("c-fail")[^1];
        Assert.Equal(settledAt + NodeDefault, settled.ResultExpiresAt);
        Assert.Equal((CanvasEntity.PersistenceIdOf("c-fail"), settledAt + NodeDefault), ExpiryEntries.Of(settled));
        Assert.Equal(TaskState.Success, Read(coordinator, "c-fail").Members[1].State);
    }

    [Fact]
    public void A_coordinator_restarted_before_its_running_members_finished_asks_them_again_and_settles()
    {
        var coordinator = Coordinator("c-restart");
        var tree = Signature.Chain(Signature.Of("tasks.add", 0, 1),
            Signature.Group(Signature.Of("tasks.add", 1), Signature.Of("tasks.add", 2), Signature.Of("tasks.add", 3)));
        coordinator.Tell(new StartCanvas("c-restart", tree));
        ExpectMsg<CanvasAccepted>();
        coordinator.Tell(Succeeded(_tasks.ExpectMsg<SubmitTask>()));
        var group = _tasks.ReceiveN(3).Cast<SubmitTask>().ToList();
        coordinator.Tell(Failed(group[1]));
        coordinator.Tell(new AwaitCanvasResult("c-restart"));
        Assert.Equal(TaskState.Failure, ExpectMsg<CanvasResult>().State);
        Watch(coordinator);
        Sys.Stop(coordinator);
        ExpectTerminated(coordinator);

        var again = Coordinator("c-restart");
        // The two still running are sent again, with the arguments they had (the first step's result).
        var resent = _tasks.ReceiveN(2).Cast<SubmitTask>().OrderBy(s => s.TaskId).ToList();
        Assert.Equal(new[] { group[0], group[2] }.OrderBy(s => s.TaskId).Select(s => (s.TaskId, s.Args.GetRawText())),
            resent.Select(s => (s.TaskId, s.Args.GetRawText())));
        again.Tell(Succeeded(resent[0]));
        again.Tell(Succeeded(resent[1]));
        AwaitAssert(() => Assert.IsType<CanvasSettled>(Journaled("c-restart")[^1]));
    }

    [Fact]
    public void Expiring_purges_the_finished_members_in_batches_then_the_canvas_and_passivates_and_again_is_harmless()
    {
        var coordinator = Coordinator("c-purge");
        coordinator.Tell(new StartCanvas("c-purge", Signature.Group(Enumerable.Range(0, 5).Select(i => Signature.Of("tasks.add", i, i)))));
        ExpectMsg<CanvasAccepted>();
        var members = _tasks.ReceiveN(5).Cast<SubmitTask>().ToList();
        foreach (var member in members)
            coordinator.Tell(Succeeded(member));
        coordinator.Tell(new AwaitCanvasResult("c-purge"));
        Assert.Equal(TaskState.Success, ExpectMsg<CanvasResult>().State);

        coordinator.Tell(new ExpireCanvas("c-purge", 2));
        Assert.Equal(new CanvasExpired("c-purge", 5), ExpectMsg<CanvasExpired>());
        ExpectMsg<Passivate>();
        Assert.Equal(new[] { 2, 2, 1, 1 }, _journal.Purges.Select(p => p.Count));
        Assert.Equal(members.Select(m => TaskEntity.PersistenceIdOf(m.TaskId)).Append("canvas-c-purge"), _journal.Purges.SelectMany(p => p));
        Assert.True(Read(coordinator, "c-purge").ResultExpired);

        // After a crash mid-purge the next sweep asks an empty (or half purged) canvas again: it purges what is left.
        _journal.Purges.Clear();
        Coordinator("c-gone").Tell(new ExpireCanvas("c-gone", 2));
        Assert.Equal(new CanvasExpired("c-gone", 0), ExpectMsg<CanvasExpired>());
        Assert.Equal(["canvas-c-gone"], _journal.Purges.Single());
    }

    [Fact]
    public void A_canvas_kept_for_ever_has_no_expiry_and_its_callbacks_take_the_calls_result_expires()
    {
        var coordinator = Coordinator("c-keep");
        coordinator.Tell(new StartCanvas("c-keep", Signature.Chain(Signature.Of("tasks.add", 1, 1)).WithLink(Signature.Of("tasks.log")), TimeSpan.Zero));
        ExpectMsg<CanvasAccepted>();
        coordinator.Tell(Succeeded(_tasks.ExpectMsg<SubmitTask>()));
        var callback = _tasks.ExpectMsg<SubmitTask>();
        Assert.Equal(TimeSpan.Zero, callback.ResultExpires);
        coordinator.Tell(new TaskResult(callback.TaskId, TaskState.Received));
        coordinator.Tell(new AwaitCanvasResult("c-keep"));
        Assert.Equal(TaskState.Success, ExpectMsg<CanvasResult>().State);
        var final = Assert.IsType<CanvasFinished>(Journaled("c-keep")[^1]);
        Assert.Null(final.ResultExpiresAt);
        Assert.Null(ExpiryEntries.Of(final));
        Assert.Empty(ExpiryEntries.IndexOperations(final));
    }

    [Fact]
    public void The_expiry_survives_snapshots_of_the_tree_and_of_the_progress()
    {
        var chord = Signature.Chord([Signature.Of("tasks.add", 1, 1)], Signature.Of("tasks.xsum")) with { Id = "c-snap" };
        var state = CanvasState.Empty("c-snap").Apply(new CanvasStarted("c-snap", chord.WithIds(() => Guid.NewGuid().ToString()), DateTimeOffset.UnixEpoch,
            TimeSpan.FromSeconds(5)));
        var at = DateTimeOffset.UnixEpoch.AddHours(1);
        state = state.Apply(new CanvasFinished("c-snap", TaskState.Failure, null, new TaskError("E", "x", ""), at, StillRunning: ["m"]));
        Assert.False(state.IsSettled);
        state = state.Apply(new CanvasSettled("c-snap", at, state.ResultExpiryFor(at, NodeDefault)));
        var back = CanvasState.FromSnapshot(state.ToTreeSnapshot(), state.ToSnapshot(1));
        Assert.Equal(TimeSpan.FromSeconds(5), back.ResultExpires);
        Assert.True(back.IsSettled);
        Assert.Equal(at.AddSeconds(5), back.ResultExpiresAt);
        Assert.False(back.IsResultExpired(at.AddSeconds(4)));
        Assert.True(back.IsResultExpired(at.AddSeconds(5)));
    }

    /// <summary>Records the purges the coordinator asks its node's purger for.</summary>
    private sealed class RecordingRetention : IJournalRetention
    {
        public List<IReadOnlyList<string>> Purges { get; } = [];

        public Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int count) => Task.FromResult<IReadOnlyList<string>>([]);

        public Task PurgeAsync(IReadOnlyList<string> persistenceIds)
        {
            lock (Purges)
                Purges.Add(persistenceIds.ToArray());
            return Task.CompletedTask;
        }

        public Task<string> MaintainAsync(DateTimeOffset now) => Task.FromResult("");
    }
}
