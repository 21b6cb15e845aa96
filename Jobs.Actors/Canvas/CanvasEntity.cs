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
    private readonly HashSet<IActorRef> _waiters = new();
    private readonly HashSet<string> _sent = new();
    private int _inFlight;
    private readonly Dictionary<string, NodeStatus> _settled = new();
    private bool _advancePending;
    private CanvasState _state;
    private int _eventsSinceSnapshot;

    public CanvasEntity(string canvasId, IActorRef tasks, CanvasSettings settings)
    {
        _tasks = tasks;
        _settings = settings;
        _state = CanvasState.Empty(canvasId);
        PersistenceId = "canvas-" + canvasId;

        Recover<SnapshotOffer>(offer => _state = CanvasState.FromSnapshot((CanvasSnapshot)offer.Snapshot));
        Recover<ICanvasEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => Advance());

        Command<StartCanvas>(Start);
        Command<GetCanvasResult>(_ => Sender.Tell(_state.ToResult()));
        Command<GetCanvasTree>(_ => Sender.Tell(new CanvasTree(_state.CanvasId, _state.Root, _state.ToResult())));
        Command<AwaitCanvasResult>(_ => ReplyWhenReady(Sender));
        Command<TaskResult>(OnMemberResult);
        Command<ReaskMembers>(_ => AskMembersAgain());
        Command<AdvanceNow>(_ =>
        {
            _advancePending = false;
            Advance();
        });
        Command<Terminated>(t => { _waiters.Remove(t.ActorRef); });
        Command<SaveSnapshotSuccess>(success =>
            DeleteMessages(success.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(failure => _log.Warning("Canvas {0}: snapshot failed: {1}", _state.CanvasId, failure.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failure => _log.Warning("Canvas {0}: deleting events failed: {1}", _state.CanvasId, failure.Cause.Message));
        Command<ReceiveTimeout>(_ => Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance)));
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
        var root = (start.Root with { Id = _state.CanvasId }).WithIds(() => Guid.NewGuid().ToString());
        var replyTo = Sender;
        Persist(new CanvasStarted(_state.CanvasId, root, DateTimeOffset.UtcNow), e =>
        {
            _state = _state.Apply(e);
            replyTo.Tell(new CanvasAccepted(_state.CanvasId, root));
            Advance();
        });
    }

    private void OnMemberResult(TaskResult result)
    {
        if (!result.Ready || !_state.MemberIds.Contains(result.TaskId) || _state.Finished.ContainsKey(result.TaskId) || _state.Outcome is not null)
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
        var result = _state.ToResult();
        foreach (var waiter in _waiters)
        {
            waiter.Tell(result);
            Context.Unwatch(waiter);
        }
        _waiters.Clear();
        Context.SetReceiveTimeout(_settings.PassivateAfter);
    }

    private void AskMembersAgain()
    {
        foreach (var id in _sent.Where(id => _state.MemberIds.Contains(id) && !_state.Finished.ContainsKey(id)))
            _tasks.Tell(new AwaitTaskResult(id));
    }

    private void ReplyWhenReady(IActorRef waiter)
    {
        if (_state.Outcome is not null)
        {
            waiter.Tell(_state.ToResult());
            return;
        }
        if (_waiters.Add(waiter))
            Context.Watch(waiter);
    }

    /// <summary>
    /// A snapshot holds the whole tree, so a big canvas snapshots less often: at most about twenty snapshots per
    /// canvas keeps their total size linear in its members, and a recovery replays at most a twentieth of them.
    /// </summary>
    private void MaybeSnapshot()
    {
        if (++_eventsSinceSnapshot < Math.Max(_settings.SnapshotEvery, _state.MemberIds.Count / 20))
            return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(_state.ToSnapshot());
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

    private sealed class AdvanceNow
    {
        public static readonly AdvanceNow Instance = new();
    }

    private sealed class ReaskMembers
    {
        public static readonly ReaskMembers Instance = new();
    }
}

public sealed record CanvasSettings(TaskRoutes Routes, TimeSpan PassivateAfter, TimeSpan ReaskInterval, int SnapshotEvery, int MaxInFlight);
