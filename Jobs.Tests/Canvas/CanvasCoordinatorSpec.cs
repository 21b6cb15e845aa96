using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Canvas;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Canvas;

/// <summary>
/// The coordinator against a journal and snapshot store the test controls, with its task region played by a probe:
/// slow and failed writes, refused and lost submissions, a missing tree. Time is virtual.
/// </summary>
public sealed class CanvasCoordinatorSpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """).WithFallback(ControllableJournal.Config);

    private static readonly CanvasSettings Settings = new(new TaskRoutes("default", []), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10),
        SnapshotEvery: 2, MaxInFlight: 100);

    private readonly TestProbe _tasks;

    public CanvasCoordinatorSpec() : base(Config)
    {
        _tasks = CreateTestProbe();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    /// <summary>A coordinator whose parent (its shard, here) is the test actor: Passivate comes to the test.</summary>
    private IActorRef Coordinator(string id) => ChildActorOf(CanvasEntity.Props(id, _tasks.Ref, Settings));

    private static Signature Chord(params int[] members) =>
        Signature.Chord(members.Select(i => Signature.Of("tasks.add", i, i)), Signature.Of("tasks.xsum"));

    private static TaskResult Succeeded(SubmitTask task) =>
        new(task.TaskId, TaskState.Success, JsonSerializer.SerializeToElement(task.Args.EnumerateArray().Sum(a => a.GetInt64())), null);

    private IActorRef StartChord(string id, out List<SubmitTask> header, params int[] members)
    {
        var coordinator = Coordinator(id);
        coordinator.Tell(new StartCanvas(id, Chord(members)));
        ExpectMsg<CanvasAccepted>();
        header = _tasks.ReceiveN(members.Length).Cast<SubmitTask>().ToList();
        Settle(coordinator);
        return coordinator;
    }

    /// <summary>Returns once the coordinator has handled what was sent to it (Identify is answered in mailbox order).</summary>
    private void Settle(IActorRef coordinator)
    {
        coordinator.Tell(new Identify(null));
        ExpectMsg<ActorIdentity>();
    }

    /// <summary>
    /// Returns once a member result told before has been journaled and the evaluation it triggered has run: the first
    /// read waits for the write, the second comes after the evaluation the write's handler asked for.
    /// </summary>
    private CanvasResult Drain(IActorRef coordinator, string id)
    {
        coordinator.Tell(new GetCanvasResult(id, MembersLimit: 0));
        ExpectMsg<CanvasResult>();
        coordinator.Tell(new GetCanvasResult(id, MembersLimit: 0));
        return ExpectMsg<CanvasResult>();
    }

    [Fact]
    public async Task A_canvas_started_by_a_write_slower_than_its_idle_timeout_is_not_passivated()
    {
        var held = new HeldWrites("canvas-c-slow");
        await ControllableJournal.JournalOf(Sys).OnWrite.SetInterceptorAsync(held);
        var coordinator = Coordinator("c-slow");
        coordinator.Tell(new StartCanvas("c-slow", Chord(1, 2)));
        await held.Reached;
        Settle(coordinator);
        Scheduler.Advance(Settings.PassivateAfter);
        Settle(coordinator);
        held.Release();
        ExpectMsg<CanvasAccepted>();
        _tasks.ReceiveN(2);

        // Had the stale timeout passivated the running canvas, Passivate would come before this answer.
        coordinator.Tell(new GetCanvasResult("c-slow"));
        Assert.IsType<CanvasResult>(ExpectMsg<object>());
    }

    [Fact]
    public async Task A_chain_step_leaves_before_the_record_of_the_step_before_is_stored_and_the_step_after_is_started_early()
    {
        var coordinator = Coordinator("c-step");
        coordinator.Tell(new StartCanvas("c-step", Signature.Chain(Signature.Of("tasks.add", 1, 1), Signature.Of("tasks.add", 2), Signature.Of("tasks.add", 3))));
        ExpectMsg<CanvasAccepted>();
        var first = _tasks.ExpectMsg<SubmitTask>();
        Assert.True(first.JournalWithOutcome);
        var warmed = _tasks.ExpectMsg<GetTaskResult>();

        var held = new HeldWrites("canvas-c-step");
        await ControllableJournal.JournalOf(Sys).OnWrite.SetInterceptorAsync(held);
        coordinator.Tell(Succeeded(first));
        await held.Reached;
        var second = _tasks.ExpectMsg<SubmitTask>();
        Assert.Equal((warmed.TaskId, "[2,2]"), (second.TaskId, second.Args.GetRawText()));
        Assert.NotEqual(second.TaskId, _tasks.ExpectMsg<GetTaskResult>().TaskId);
        held.Release();
    }

    [Fact]
    public void A_member_refused_by_the_journal_is_submitted_again_and_the_chord_completes_with_the_right_result()
    {
        var coordinator = StartChord("c-refused", out var header, 1, 2);
        coordinator.Tell(new CommandFailed(header[0].TaskId, $"task {header[0].TaskId} was not accepted: the journal failed to store it"));
        coordinator.Tell(Succeeded(header[1]));
        Drain(coordinator, "c-refused");

        Scheduler.Advance(Settings.ReaskInterval);
        var again = _tasks.ExpectMsg<SubmitTask>();
        Assert.Equal(header[0], again);
        coordinator.Tell(Succeeded(again));
        var body = _tasks.ExpectMsg<SubmitTask>(s => s.Name == "tasks.xsum");
        Assert.Equal("[[2,4]]", body.Args.GetRawText());
        coordinator.Tell(Succeeded(body with { Args = JsonSerializer.SerializeToElement(new[] { 6 }) }));
        coordinator.Tell(new AwaitCanvasResult("c-refused", MembersLimit: 0));
        var done = ExpectMsg<CanvasResult>();
        Assert.Equal(TaskState.Success, done.State);
        Assert.Equal(6, done.Result!.Value.GetInt32());
    }

    [Fact]
    public void Members_are_asked_again_every_interval_however_often_other_results_arrive()
    {
        var coordinator = StartChord("c-steady", out var header, 1, 2, 3);
        Scheduler.Advance(TimeSpan.FromSeconds(6));
        coordinator.Tell(Succeeded(header[0]));
        Drain(coordinator, "c-steady");
        Scheduler.Advance(TimeSpan.FromSeconds(4));
        // Ten seconds after the start: the two members still out are sent again (whole submissions, not just a request).
        var asked = _tasks.ReceiveN(2).Cast<SubmitTask>().Select(s => s.TaskId).ToHashSet();
        Assert.Equal(header.Skip(1).Select(s => s.TaskId).ToHashSet(), asked);
    }

    [Fact]
    public void A_re_ask_handled_late_is_skipped_but_never_two_in_a_row()
    {
        var coordinator = StartChord("c-behind", out var header, 1, 2);
        // Handled five seconds after it was due: results are queued before it, the members have likely answered.
        Scheduler.Advance(Settings.ReaskInterval + TimeSpan.FromSeconds(5));
        Drain(coordinator, "c-behind");
        Assert.False(_tasks.HasMessages);
        Scheduler.Advance(Settings.ReaskInterval + TimeSpan.FromSeconds(5));
        Assert.Equal(header.Select(s => s.TaskId).ToHashSet(), _tasks.ReceiveN(2).Cast<SubmitTask>().Select(s => s.TaskId).ToHashSet());
    }

    [Fact]
    public void A_callback_refused_by_the_journal_is_sent_again_and_the_canvas_finishes_only_once_it_is_accepted()
    {
        var coordinator = Coordinator("c-link");
        coordinator.Tell(new StartCanvas("c-link", Signature.Chain(Signature.Of("tasks.add", 1, 1)).WithLink(Signature.Of("tasks.log"))));
        ExpectMsg<CanvasAccepted>();
        var member = _tasks.ExpectMsg<SubmitTask>();
        coordinator.Tell(Succeeded(member));
        var callback = _tasks.ExpectMsg<SubmitTask>();
        Assert.Equal("tasks.log", callback.Name);
        Assert.False(callback.AwaitResult);
        coordinator.Tell(new CommandFailed(callback.TaskId, $"task {callback.TaskId} was not accepted: the journal failed to store it"));
        Assert.Equal(TaskState.Started, Drain(coordinator, "c-link").State);

        Scheduler.Advance(Settings.ReaskInterval);
        Assert.Equal(callback, _tasks.ExpectMsg<SubmitTask>());
        coordinator.Tell(new TaskResult(callback.TaskId, TaskState.Received));
        coordinator.Tell(new AwaitCanvasResult("c-link", MembersLimit: 0));
        var done = ExpectMsg<CanvasResult>();
        Assert.Equal(TaskState.Success, done.State);
        Assert.Equal(2, done.Result!.Value.GetInt32());
    }

    [Fact]
    public async Task A_start_that_was_not_stored_is_answered_with_the_canvas_id()
    {
        var journal = ControllableJournal.JournalOf(Sys);
        await journal.OnWrite.Fail();
        Coordinator("c-unsure").Tell(new StartCanvas("c-unsure", Chord(1)));
        var unsure = ExpectMsg<CommandFailed>();
        Assert.Equal("c-unsure", unsure.Id);
        Assert.True(unsure.OutcomeUnknown);

        await journal.OnWrite.Reject();
        Coordinator("c-rejected").Tell(new StartCanvas("c-rejected", Chord(1)));
        var rejected = ExpectMsg<CommandFailed>();
        Assert.False(rejected.OutcomeUnknown);
        Assert.StartsWith("canvas c-rejected was not accepted", rejected.Reason);
        Assert.False(_tasks.HasMessages);
    }

    [Fact]
    public void A_tree_in_which_two_nodes_share_an_id_is_rejected_and_nothing_runs()
    {
        var tree = Signature.Chain(Signature.Of("tasks.add", 2, 2) with { Id = "same" }, Signature.Of("tasks.add", 4) with { Id = "same" });
        Coordinator("c-twice").Tell(new StartCanvas("c-twice", tree));
        var rejected = ExpectMsg<CanvasRejected>();
        Assert.Contains("'same'", rejected.Reason);
        Coordinator("c-twice").Tell(new GetCanvasResult("c-twice"));
        Assert.Equal(TaskState.Pending, ExpectMsg<CanvasResult>().State);
        Assert.False(_tasks.HasMessages);
    }

    [Fact]
    public void A_coordinator_whose_tree_snapshot_is_missing_answers_with_the_reason_and_stops()
    {
        // A progress snapshot that refers to a tree snapshot the store no longer has (an evicted key, say).
        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        var progress = new CanvasSnapshot("c-lost", TreeSequenceNr: 1, States: new byte[3], JsonDocument.Parse("[]").RootElement.Clone(), [], null);
        store.Tell(new SaveSnapshot(new SnapshotMetadata("canvas-c-lost", 5, DateTime.UtcNow), progress));
        ExpectMsg<SaveSnapshotSuccess>();

        var coordinator = Sys.ActorOf(CanvasEntity.Props("c-lost", _tasks.Ref, Settings));
        Watch(coordinator);
        coordinator.Tell(new GetCanvasResult("c-lost"));
        var failed = ExpectMsg<CommandFailed>();
        Assert.Contains("the snapshot of its tree (at sequence number 1) is missing", failed.Reason);
        Scheduler.Advance(Settings.ReaskInterval);
        ExpectTerminated(coordinator);
    }

    [Fact]
    public async Task A_tree_snapshot_that_failed_is_tried_again_only_after_as_many_results_again()
    {
        var attempts = new TreeSaves("canvas-c-storm");
        await ControllableJournal.SnapshotsOf(Sys).OnSave.SetInterceptorAsync(attempts);
        var members = Enumerable.Range(1, 12).ToArray();
        var coordinator = StartChord("c-storm", out var header, members);
        foreach (var task in header)
        {
            coordinator.Tell(Succeeded(task));
            Drain(coordinator, "c-storm");
        }
        // Every second result at most (snapshot-every = 2), not every result once the first attempt failed. The store
        // takes saves asynchronously, so the first may reach it after the last result was drained.
        await AwaitAssertAsync(() => Assert.InRange(attempts.Count, 1, members.Length / Settings.SnapshotEvery));
    }

    /// <summary>Fails every save of the tree's snapshot (taken at sequence number 1) and counts them.</summary>
    private sealed class TreeSaves(string persistenceId) : ISnapshotStoreInterceptor
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task InterceptAsync(string id, SnapshotSelectionCriteria criteria)
        {
            if (id != persistenceId || criteria.MaxSequenceNr != 1)
                return Task.CompletedTask;
            Interlocked.Increment(ref _count);
            return Task.FromException(new IOException("the snapshot store is full"));
        }
    }
}
