using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Canvas;

/// <summary>
/// The coordinator of one chain, group or chord (persisted as <c>canvas-{id}</c>, sharded by id): it sends the
/// member tasks whose inputs are known, counts their results as messages — each journaled once, by task id —
/// and finishes when the tree is done or fails. No polling of a result backend, no counters in Redis: a
/// restarted coordinator re-evaluates the tree from its journal and asks its running members again.
/// </summary>
public sealed class CanvasEntity : ReceivePersistentActor, IWithTimers
{
    private readonly IActorRef _tasks;
    private readonly CanvasSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, AwaitCanvasResult> _waiters = new();
    private readonly HashSet<string> _sent = new();
    private int _inFlight;
    private readonly Dictionary<string, NodeStatus> _settled = new();
    private bool _advancePending;
    private CanvasState _state;
    private int _eventsSinceSnapshot;

    /// <summary>Where <see cref="CanvasStarted"/> was journaled: the tree's snapshot is written at that sequence number.</summary>
    private long _treeSequenceNr;

    private TreeSnapshot _treeSnapshot = TreeSnapshot.Unsaved;

    /// <summary>Where the latest progress snapshot is (0: none), to delete it once a newer one is stored.</summary>
    private long _progressSequenceNr;

    /// <summary>A progress snapshot found in recovery, waiting for the tree it indexes, and the events replayed after it.</summary>
    private CanvasSnapshot? _recoveredProgress;

    private readonly List<ICanvasEvent> _replayedAfterProgress = new();

    public CanvasEntity(string canvasId, IActorRef tasks, CanvasSettings settings)
    {
        _tasks = tasks;
        _settings = settings;
        _state = CanvasState.Empty(canvasId);
        PersistenceId = "canvas-" + canvasId;

        Recover<SnapshotOffer>(Recovered);
        Recover<ICanvasEvent>(Recovered);
        Recover<RecoveryCompleted>(_ =>
        {
            if (_recoveredProgress is null)
                Advance();
            else
                LoadTree();
        });
        Running();
    }

    private void Running()
    {
        Command<StartCanvas>(Start);
        Command<GetCanvasResult>(get => Sender.Tell(_state.ToResult(get.MembersOffset, get.MembersLimit)));
        Command<GetCanvasTree>(_ => Sender.Tell(new CanvasTree(_state.CanvasId, _state.Root, _state.ToResult())));
        Command<AwaitCanvasResult>(ReplyWhenReady);
        Command<TaskResult>(OnMemberResult);
        Command<ReaskMembers>(_ => AskMembersAgain());
        Command<AdvanceNow>(_ =>
        {
            _advancePending = false;
            Advance();
        });
        Command<Terminated>(t => _waiters.Remove(t.ActorRef));
        Command<SaveSnapshotSuccess>(Saved);
        Command<SaveSnapshotFailure>(failure =>
        {
            if (IsTree(failure.Metadata))
                _treeSnapshot = TreeSnapshot.Unsaved;
            _log.Warning("Canvas {0}: snapshot failed: {1}", _state.CanvasId, failure.Cause.Message);
        });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failure => _log.Warning("Canvas {0}: deleting events failed: {1}", _state.CanvasId, failure.Cause.Message));
        Command<DeleteSnapshotSuccess>(_ => { });
        Command<DeleteSnapshotFailure>(failure => _log.Warning("Canvas {0}: deleting a snapshot failed: {1}", _state.CanvasId, failure.Cause.Message));
        Command<ReceiveTimeout>(_ => Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance)));
    }

    private void Recovered(SnapshotOffer offer)
    {
        switch (offer.Snapshot)
        {
            case CanvasTreeSnapshot tree:
                _state = CanvasState.FromSnapshot(tree);
                _treeSequenceNr = offer.Metadata.SequenceNr;
                _treeSnapshot = TreeSnapshot.Saved;
                break;
            case CanvasSnapshot progress:
                _recoveredProgress = progress;
                _progressSequenceNr = offer.Metadata.SequenceNr;
                _treeSequenceNr = progress.TreeSequenceNr;
                _treeSnapshot = TreeSnapshot.Saved;
                break;
        }
    }

    private void Recovered(ICanvasEvent e)
    {
        if (_recoveredProgress is not null)
        {
            // Members are known by id only once the tree is back; a twentieth of them at most waits here.
            _replayedAfterProgress.Add(e);
            return;
        }
        _state = _state.Apply(e);
        if (e is CanvasStarted)
            _treeSequenceNr = LastSequenceNr;
    }

    /// <summary>
    /// The latest snapshot held the progress only; the tree is in the snapshot taken once at <see cref="_treeSequenceNr"/>.
    /// Commands wait (stashed) until it is loaded.
    /// </summary>
    private void LoadTree()
    {
        SnapshotStore.Tell(new LoadSnapshot(PersistenceId,
            new SnapshotSelectionCriteria(_treeSequenceNr, DateTime.MaxValue, _treeSequenceNr, null), _treeSequenceNr));
        Become(() =>
        {
            Command<LoadSnapshotResult>(loaded =>
            {
                if (loaded.Snapshot?.Snapshot is not CanvasTreeSnapshot tree)
                    throw new InvalidOperationException($"canvas {_state.CanvasId}: the snapshot of its tree at {_treeSequenceNr} is missing");
                _state = CanvasState.FromSnapshot(tree, _recoveredProgress!);
                _recoveredProgress = null;
                foreach (var e in _replayedAfterProgress)
                    _state = _state.Apply(e);
                _replayedAfterProgress.Clear();
                Become(Running);
                Stash.UnstashAll();
                Advance();
            });
            Command<LoadSnapshotFailed>(failed =>
                throw new InvalidOperationException($"canvas {_state.CanvasId}: loading its tree failed", failed.Cause));
            CommandAny(_ => Stash.Stash());
        });
    }

    /// <summary>
    /// A big canvas leaves hundreds of MB behind once its coordinator and member tasks are gone; a quiet node never
    /// collects it (the GC runs when something allocates), so the process would keep its peak size.
    /// </summary>
    protected override void PostStop()
    {
        if (_settings.ReleaseMemoryAfter > 0 && _state.MemberCount >= _settings.ReleaseMemoryAfter)
            MemoryRelease.Request();
        base.PostStop();
    }

    public static Props Props(string canvasId, IActorRef tasks, CanvasSettings settings) =>
        FactoryProps.Of(() => new CanvasEntity(canvasId, tasks, settings));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    private void Start(StartCanvas start)
    {
        if (_state.IsStarted)
        {
            Sender.Tell(new CanvasAccepted(_state.CanvasId, _state.Root!));
            return;
        }
        var given = start.Root.Id == _state.CanvasId && start.Root.Nodes().All(n => n.Id is not null);
        var root = given ? start.Root : (start.Root with { Id = _state.CanvasId }).WithIds(() => Guid.NewGuid().ToString());
        var replyTo = Sender;
        Persist(new CanvasStarted(_state.CanvasId, root, DateTimeOffset.UtcNow), e =>
        {
            _state = _state.Apply(e);
            _treeSequenceNr = LastSequenceNr;
            replyTo.Tell(new CanvasAccepted(_state.CanvasId, given ? null : root));
            Advance();
        });
    }

    private void OnMemberResult(TaskResult result)
    {
        if (!result.Ready || !_state.IsMember(result.TaskId) || _state.HasFinished(result.TaskId) || _state.Outcome is not null)
            return;
        Persist(new CanvasMemberFinished(_state.CanvasId, result.TaskId, result.State, result.Result, result.Error), e =>
        {
            _state = _state.Apply(e);
            if (_sent.Contains(e.TaskId))
                _inFlight--;
            MaybeSnapshot();
            AdvanceSoon();
        });
    }

    /// <summary>
    /// Re-evaluates once the results already waiting in the mailbox are journaled too: a burst of a thousand
    /// header results costs one evaluation, while a lone result (a chain's step) is evaluated at once.
    /// </summary>
    private void AdvanceSoon()
    {
        if (_advancePending)
            return;
        _advancePending = true;
        Self.Tell(AdvanceNow.Instance);
    }

    /// <summary>Re-evaluates the tree: sends what has become runnable, or journals the outcome.</summary>
    private void Advance()
    {
        if (!_state.IsStarted)
        {
            Context.SetReceiveTimeout(_settings.PassivateAfter);
            return;
        }
        if (_state.Outcome is not null)
        {
            Finish();
            return;
        }
        // A window of members in flight keeps a chord of 100,000 from holding 100,000 live task entities at once.
        var (status, submissions) = _state.Evaluate(_sent.Contains, _settled, Math.Max(0, _settings.MaxInFlight - _inFlight));
        foreach (var submission in submissions)
        {
            if (!_sent.Add(submission.TaskId))
                continue;
            _tasks.Tell(ToCommand(submission));
            if (submission.AwaitResult)
                _inFlight++;
        }
        switch (status)
        {
            case NodeStatus.Done done:
                Persist(new CanvasFinished(_state.CanvasId, TaskState.Success, done.Result, null, DateTimeOffset.UtcNow), Finished);
                break;
            case NodeStatus.Failed failed:
                Persist(new CanvasFinished(_state.CanvasId, TaskState.Failure, null, failed.Error, DateTimeOffset.UtcNow), Finished);
                break;
            default:
                // A member's entity may have moved (its node died) and forgotten that we wait: ask again now and then.
                Context.SetReceiveTimeout(null);
                Timers.StartPeriodicTimer(ReaskMembers.Instance, ReaskMembers.Instance, _settings.ReaskInterval);
                break;
        }
    }

    private void Finished(CanvasFinished finished)
    {
        _state = _state.Apply(finished);
        Finish();
    }

    private void Finish()
    {
        Timers.CancelAll();
        foreach (var (waiter, asked) in _waiters)
        {
            waiter.Tell(_state.ToResult(asked.MembersOffset, asked.MembersLimit));
            Context.Unwatch(waiter);
        }
        _waiters.Clear();
        Context.SetReceiveTimeout(_settings.PassivateAfter);
    }

    private void AskMembersAgain()
    {
        foreach (var id in _sent.Where(id => _state.IsMember(id) && !_state.HasFinished(id)))
            _tasks.Tell(new AwaitTaskResult(id));
    }

    private void ReplyWhenReady(AwaitCanvasResult asked)
    {
        if (_state.Outcome is not null)
        {
            Sender.Tell(_state.ToResult(asked.MembersOffset, asked.MembersLimit));
            return;
        }
        if (_waiters.TryAdd(Sender, asked))
            Context.Watch(Sender);
    }

    /// <summary>
    /// A snapshot holds a byte and the result of each member, so a big canvas snapshots less often: at most about
    /// twenty per canvas keeps their total size linear in its members, and a recovery replays at most a twentieth
    /// of them. The tree is snapshotted once, before the first progress snapshot, which only refers to it.
    /// </summary>
    private void MaybeSnapshot()
    {
        if (++_eventsSinceSnapshot < Math.Max(_settings.SnapshotEvery, _state.MemberCount / 20))
            return;
        switch (_treeSnapshot)
        {
            case TreeSnapshot.Unsaved:
                _treeSnapshot = TreeSnapshot.Saving;
                SnapshotStore.Tell(new SaveSnapshot(new SnapshotMetadata(PersistenceId, _treeSequenceNr, DateTime.UtcNow), _state.ToTreeSnapshot()));
                break;
            case TreeSnapshot.Saved:
                _eventsSinceSnapshot = 0;
                SaveSnapshot(_state.ToSnapshot(_treeSequenceNr));
                break;
        }
    }

    private bool IsTree(SnapshotMetadata metadata) => metadata.SequenceNr == _treeSequenceNr;

    /// <summary>
    /// Once the tree is stored the progress may be; once progress is stored, the events and the progress snapshots
    /// before it go (the tree's snapshot stays).
    /// </summary>
    private void Saved(SaveSnapshotSuccess success)
    {
        if (IsTree(success.Metadata))
        {
            _treeSnapshot = TreeSnapshot.Saved;
            MaybeSnapshot();
            return;
        }
        if (success.Metadata.SequenceNr <= _progressSequenceNr)
        {
            // A save that finished after a newer one: only the newest progress snapshot is kept.
            if (success.Metadata.SequenceNr < _progressSequenceNr)
                DeleteSnapshot(success.Metadata.SequenceNr);
            return;
        }
        DeleteMessages(success.Metadata.SequenceNr);
        // One by one, by sequence number: not every snapshot store honours a lower bound when deleting by criteria.
        if (_progressSequenceNr > 0)
            DeleteSnapshot(_progressSequenceNr);
        _progressSequenceNr = success.Metadata.SequenceNr;
    }

    private SubmitTask ToCommand(CanvasSubmission submission) => new(
        submission.TaskId,
        submission.Task,
        submission.Args,
        submission.Kwargs,
        _settings.Routes.QueueFor(submission.Task, submission.Queue),
        submission.Countdown is { } seconds ? DateTimeOffset.UtcNow.AddSeconds(seconds) : null,
        null,
        submission.AwaitResult);

    private enum TreeSnapshot
    {
        Unsaved,
        Saving,
        Saved,
    }

    private sealed class AdvanceNow
    {
        public static readonly AdvanceNow Instance = new();
    }

    private sealed class ReaskMembers
    {
        public static readonly ReaskMembers Instance = new();
    }
}

/// <param name="ReleaseMemoryAfter">A coordinator of at least this many members asks for a full GC when it stops (0: never).</param>
public sealed record CanvasSettings(TaskRoutes Routes, TimeSpan PassivateAfter, TimeSpan ReaskInterval, int SnapshotEvery, int MaxInFlight,
    int ReleaseMemoryAfter = 0);
