using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Canvas;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Jobs.Tests.Persistence;
using Xunit;

namespace Jobs.Tests.Canvas;

/// <summary>
/// The coordinator's snapshots: a big canvas writes its tree once and then only where its members stand, and a
/// new incarnation (after passivation or a crash) recovers from the two. Run against each snapshot store.
/// </summary>
public abstract class CanvasEntitySpec(Config config) : TestKit(config)
{
    protected static Config Persistent(Config backend) => ConfigurationFactory.ParseString("akka.actor.provider = local")
        .WithFallback(backend).WithFallback(JobsConfig.Defaults());

    // A snapshot every two member results, so ten members make several progress snapshots.
    private static readonly CanvasSettings Settings = new(new TaskRoutes("default", []), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10),
        SnapshotEvery: 2, MaxInFlight: 100);

    private TestProbe? _probe;

    private TestProbe TaskRegion => _probe ??= CreateTestProbe();

    private IActorRef Coordinator(string id) => Sys.ActorOf(CanvasEntity.Props(id, TaskRegion.Ref, Settings));

    private static Signature Chord(int members) =>
        Signature.Chord(Enumerable.Range(0, members).Select(i => Signature.Of("tasks.add", i, i)), Signature.Of("tasks.xsum"));

    private static TaskResult Succeeded(SubmitTask task) =>
        new(task.TaskId, TaskState.Success, JsonSerializer.SerializeToElement(task.Args[0].GetInt64() + task.Args[1].GetInt64()), null);

    private object? LatestSnapshot(string persistenceId, long maxSequenceNr = long.MaxValue)
    {
        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        store.Tell(new LoadSnapshot(persistenceId, new SnapshotSelectionCriteria(maxSequenceNr), long.MaxValue));
        return ExpectMsg<LoadSnapshotResult>().Snapshot?.Snapshot;
    }

    private IActorRef StartChord(string id, int members, out List<SubmitTask> header)
    {
        var coordinator = Coordinator(id);
        coordinator.Tell(new StartCanvas(id, Chord(members)));
        ExpectMsg<CanvasAccepted>();
        header = TaskRegion.ReceiveN(members).Cast<SubmitTask>().ToList();
        return coordinator;
    }

    [Fact]
    public void A_big_canvas_snapshots_its_tree_once_and_then_only_its_members_progress()
    {
        var coordinator = StartChord("c-snap", 10, out var header);
        foreach (var task in header.Take(7))
            coordinator.Tell(Succeeded(task));

        // The latest progress snapshot: every member that finished by then (results keep coming while it is written).
        AwaitAssert(() =>
        {
            var progress = Assert.IsType<CanvasSnapshot>(LatestSnapshot("canvas-c-snap"));
            var finished = progress.States.Count(s => s != 0);
            Assert.InRange(finished, 5, 7);
            Assert.Equal(11, progress.States.Length);
            Assert.All(progress.States.Take(finished), s => Assert.Equal((byte)(TaskState.Success + 1), s));
            Assert.Equal(1, progress.TreeSequenceNr);
            Assert.Equal(Enumerable.Range(0, finished).Select(i => 2L * i), progress.Results.EnumerateArray().Select(r => r.GetInt64()));
        });
        var tree = Assert.IsType<CanvasTreeSnapshot>(LatestSnapshot("canvas-c-snap", maxSequenceNr: 1));
        Assert.Equal(10, tree.Root.Members.Count);
        // Progress snapshots before the latest are deleted; the tree's stays.
        AwaitAssert(() =>
        {
            var latest = Assert.IsType<CanvasSnapshot>(LatestSnapshot("canvas-c-snap"));
            var sequenceNrOfLatest = 1 + latest.States.Count(s => s != 0);
            Assert.IsType<CanvasTreeSnapshot>(LatestSnapshot("canvas-c-snap", maxSequenceNr: sequenceNrOfLatest - 1));
        });
    }

    [Fact]
    public void A_new_incarnation_recovers_from_the_tree_and_progress_snapshots_and_finishes_once()
    {
        var coordinator = StartChord("c-recover", 10, out var header);
        foreach (var task in header.Take(7))
            coordinator.Tell(Succeeded(task));
        AwaitAssert(() => Assert.IsType<CanvasSnapshot>(LatestSnapshot("canvas-c-recover")));
        coordinator.Tell(new GetCanvasResult("c-recover"));
        Assert.Equal(7, ExpectMsg<CanvasResult>().Members.Count(m => m.State == TaskState.Success));
        Watch(coordinator);
        coordinator.Tell(PoisonPill.Instance);
        ExpectTerminated(coordinator);

        var again = Coordinator("c-recover");
        again.Tell(new GetCanvasResult("c-recover", MembersOffset: 5, MembersLimit: 4));
        var state = ExpectMsg<CanvasResult>();
        Assert.Equal(11, state.MemberCount);
        Assert.Equal(5, state.MembersOffset);
        Assert.Equal([TaskState.Success, TaskState.Success, TaskState.Pending, TaskState.Pending], state.Members.Select(m => m.State));
        Assert.Equal(header.Skip(5).Take(4).Select(t => t.TaskId), state.Members.Select(m => m.TaskId));

        // Only the three members without a result are sent again, then the body once, with every result.
        var resent = TaskRegion.ReceiveN(3).Cast<SubmitTask>().ToList();
        Assert.Equal(header.Skip(7).Select(t => t.TaskId), resent.Select(t => t.TaskId));
        foreach (var task in resent)
            again.Tell(Succeeded(task));
        var body = TaskRegion.ExpectMsg<SubmitTask>();
        Assert.Equal("tasks.xsum", body.Name);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 2L * i), body.Args[0].EnumerateArray().Select(r => r.GetInt64()));
        again.Tell(new TaskResult(body.TaskId, TaskState.Success, JsonSerializer.SerializeToElement(90), null));
        again.Tell(new AwaitCanvasResult("c-recover", MembersLimit: 0));
        var done = ExpectMsg<CanvasResult>();
        Assert.Equal(TaskState.Success, done.State);
        Assert.Equal(90, done.Result!.Value.GetInt32());
        Assert.Empty(done.Members);
        TaskRegion.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void The_tree_is_sent_back_only_when_the_coordinator_chose_ids()
    {
        var chosen = Coordinator("c-ids");
        chosen.Tell(new StartCanvas("c-ids", Chord(3)));
        var accepted = ExpectMsg<CanvasAccepted>();
        Assert.All(accepted.Root!.Nodes(), n => Assert.NotNull(n.Id));
        Assert.Equal("c-ids", accepted.Root!.Id);
        TaskRegion.ReceiveN(3);

        var tree = (Chord(3) with { Id = "c-given" }).WithIds(() => Guid.NewGuid().ToString());
        var given = Coordinator("c-given");
        given.Tell(new StartCanvas("c-given", tree));
        Assert.Null(ExpectMsg<CanvasAccepted>().Root);
        Assert.Equal(tree.Members.Select(m => m.Id), TaskRegion.ReceiveN(3).Cast<SubmitTask>().Select(t => t.TaskId));
    }
}

public sealed class InMemoryCanvasEntitySpec() : CanvasEntitySpec(ConfigurationFactory.ParseString("""
    akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
    akka.loglevel = WARNING
    """));

public sealed class SqliteCanvasEntitySpec() : CanvasEntitySpec(Persistent(PersistenceBackends.Sqlite(PersistenceBackends.TempSqlitePath())));

[Collection(RedisCollection.Name)]
public sealed class RedisCanvasEntitySpec(RedisServer redis) : CanvasEntitySpec(Persistent(PersistenceBackends.Redis(redis)));
