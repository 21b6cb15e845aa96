using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Jobs.Actors.Hosting;
using Jobs.Actors.Persistence;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Canvas;

/// <summary>
/// The coordinator of one chain, group or chord (persisted as <c>canvas-{id}</c>, sharded by id): it sends the
/// member tasks whose inputs are known, counts their results as messages — each journaled once, by task id —
/// and finishes when the tree is done or fails. No polling of a result backend, no counters in Redis: a
/// restarted coordinator re-evaluates the tree from its journal and asks its running members again. Members and
/// callbacks are sent again (their submissions are idempotent by id) until each member has answered its result and
/// each callback its acknowledgement, so a refused or lost submission only delays the canvas.
/// </summary>
public sealed class CanvasEntity : ReceivePersistentActor, IWithTimers
{
    private readonly IActorRef _tasks;
    private readonly CanvasSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<IActorRef, AwaitCanvasResult> _waiters = new();

    /// <summary>Every task this incarnation sent, members and callbacks: a re-evaluation does not build them again.</summary>
    private readonly HashSet<string> _sent = new();

    /// <summary>Members sent and not finished (at most <see cref="CanvasSettings.MaxInFlight"/>): sent again until they answer.</summary>
    private readonly Dictionary<string, SubmitTask> _awaiting = new();

    /// <summary>Callbacks sent and not yet acknowledged by their task (journaled there): sent again until they are.</summary>
    private readonly Dictionary<string, SubmitTask> _unacknowledged = new();

    /// <summary>The tree is done or failed, and its outcome waits for the callbacks it fired to be acknowledged.</summary>
    private bool _outcomeWaitsForCallbacks;

    private bool _skippedReask;

    private readonly Dictionary<string, NodeStatus> _settled = new();

    /// <summary>The chain steps that run next (<see cref="CanvasState.Evaluate"/>'s upcoming), and those started early already.</summary>
    private readonly List<string> _upcoming = new();
    private readonly HashSet<string> _warmed = new();
    private bool _advancePending;
    private CanvasState _state;
    private int _eventsSinceSnapshot;

    /// <summary>Who started the canvas, while its <see cref="CanvasStarted"/> is being written: told if it is not stored.</summary>
    private IActorRef? _startedBy;

    /// <summary>This coordinator asked its shard to passivate it; the shard's <see cref="StopEntity"/> follows.</summary>
    private bool _passivating;

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
        PersistenceId = PersistenceIdOf(canvasId);

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
        Command<GetCanvasResult>(get => Sender.Tell(_state.ToResult(Now, get.MembersOffset, get.MembersLimit)));
        Command<GetCanvasTree>(_ => Sender.Tell(new CanvasTree(_state.CanvasId, _state.IsResultExpired(Now) ? null : _state.Root, _state.ToResult(Now))));
        Command<AwaitCanvasResult>(ReplyWhenReady);
        Command<TaskResult>(OnTaskAnswer);
        Command<CommandFailed>(OnTaskRefused);
        Command<ReaskMembers>(OnReask);
        Command<AdvanceNow>(_ =>
        {
            _advancePending = false;
            Advance();
        });
        Command<Terminated>(t =>
        {
            _waiters.Remove(t.ActorRef);
            SetPassivation();
        });
        Command<SaveSnapshotSuccess>(Saved);
        Command<SaveSnapshotFailure>(failure =>
        {
            if (IsTree(failure.Metadata))
                _treeSnapshot = TreeSnapshot.Unsaved;
            // The next try comes after as many results again, not with every result (a big tree is tens of MB).
            _eventsSinceSnapshot = 0;
            _log.Warning("Canvas {0}: snapshot failed: {1}", _state.CanvasId, failure.Cause.Message);
        });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failure => _log.Warning("Canvas {0}: deleting events failed: {1}", _state.CanvasId, failure.Cause.Message));
        Command<DeleteSnapshotSuccess>(_ => { });
        Command<DeleteSnapshotFailure>(failure => _log.Warning("Canvas {0}: deleting a snapshot failed: {1}", _state.CanvasId, failure.Cause.Message));
        Command<ExpireCanvas>(Expire);
        Command<Retention.ResultsPurged>(OnPurged);
        Command<ReceiveTimeout>(_ => PassivateIfIdle());
        Command<StopEntity>(_ => Leave());
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
                {
                    Unrecoverable($"the snapshot of its tree (at sequence number {_treeSequenceNr}) is missing; the snapshot store must never evict");
                    return;
                }
                try
                {
                    _state = CanvasState.FromSnapshot(tree, _recoveredProgress!);
                }
                catch (InvalidOperationException e)
                {
                    Unrecoverable(e.Message);
                    return;
                }
                _recoveredProgress = null;
                foreach (var e in _replayedAfterProgress)
                    _state = _state.Apply(e);
                _replayedAfterProgress.Clear();
                Become(Running);
                Stash.UnstashAll();
                Advance();
            });
            Command<LoadSnapshotFailed>(failed => Unrecoverable($"loading the snapshot of its tree failed: {failed.Cause.Message}"));
            CommandAny(_ => Stash.Stash());
        });
    }

    /// <summary>
    /// The tree could not be loaded. Throwing would restart the coordinator at once, and it would fail again at once,
    /// hammering the store; instead it answers every command with the reason for a while, then stops, and sharding
    /// starts it again (and it tries again) after its restart back-off.
    /// </summary>
    private void Unrecoverable(string why)
    {
        var reason = $"canvas {_state.CanvasId} cannot be recovered: {why}";
        _log.Error("{0}; its coordinator stops and tries again in {1}", reason, _settings.ReaskInterval);
        Become(() =>
        {
            Command<ICanvasCommand>(_ => Sender.Tell(new CommandFailed(_state.CanvasId, reason)));
            Command<TryRecoveryAgain>(_ => Context.Stop(Self));
            Command<StopEntity>(_ => Context.Stop(Self));
            // Members' results are in their own journals; the next incarnation asks them again.
            CommandAny(_ => { });
        });
        Stash.UnstashAll();
        Timers.StartSingleTimer(TryRecoveryAgain.Instance, TryRecoveryAgain.Instance, _settings.ReaskInterval);
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

    public static string PersistenceIdOf(string canvasId) => "canvas-" + canvasId;

    public ITimerScheduler Timers { get; set; } = null!;

    private void Start(StartCanvas start)
    {
        if (_state.IsStarted)
        {
            Sender.Tell(new CanvasAccepted(_state.CanvasId, _state.Root!));
            return;
        }
        var given = start.Root.Id == _state.CanvasId && start.Root.Nodes().All(n => n.Id is not null);
        var root = given ? start.Root : (start.Root with { Id = _state.CanvasId }).WithIds(Client.TaskIds.New);
        if (CanvasState.Invalidity(root) is { } invalid)
        {
            Sender.Tell(new CanvasRejected(_state.CanvasId, invalid));
            return;
        }
        var replyTo = Sender;
        _startedBy = replyTo;
        // An idle timeout that fires during the write is stashed, and finds the canvas started (PassivateIfIdle).
        Context.SetReceiveTimeout(null);
        Persist(new CanvasStarted(_state.CanvasId, root, DateTimeOffset.UtcNow, start.ResultExpires), e =>
        {
            _startedBy = null;
            _state = _state.Apply(e);
            _treeSequenceNr = LastSequenceNr;
            replyTo.Tell(new CanvasAccepted(_state.CanvasId, given ? null : root));
            Advance();
        });
    }

    /// <summary>A callback's acknowledgement (its task journaled it), or a member's result.</summary>
    private void OnTaskAnswer(TaskResult answer)
    {
        if (_unacknowledged.Remove(answer.TaskId))
        {
            if (_unacknowledged.Count == 0 && _outcomeWaitsForCallbacks)
                AdvanceSoon();
            return;
        }
        OnMemberResult(answer);
    }

    private void OnMemberResult(TaskResult result)
    {
        if (!result.Ready || !_state.IsMember(result.TaskId) || _state.HasFinished(result.TaskId) || !_state.WaitsFor(result.TaskId))
            return;
        // The result is durable in the member's own journal already, so it counts at once and the canvas goes on: the
        // next member's writes leave beside this record of it (the journal batches across actors), not after it. A
        // crash before this write is stored only means the member is asked again (submissions are idempotent by id).
        // The outcome (CanvasFinished, a Persist) is journaled after every earlier record and told only after it.
        var finished = new CanvasMemberFinished(_state.CanvasId, result.TaskId, result.State, result.Result, result.Error);
        _state = _state.Apply(finished);
        _awaiting.Remove(finished.TaskId);
        AdvanceSoon();
        PersistAsync(finished, _ => MaybeSnapshot());
    }

    /// <summary>
    /// A member or callback whose submission was not stored (a journal blip, its entity moving): it stays in flight and
    /// the next re-ask sends it again, at the re-ask interval, so a journal outage is not met with a storm of resends.
    /// </summary>
    private void OnTaskRefused(CommandFailed refused)
    {
        if (!_awaiting.ContainsKey(refused.Id) && !_unacknowledged.ContainsKey(refused.Id))
            return;
        _log.Warning("Canvas {0}: {1}; sending it again in {2}", _state.CanvasId, refused.Reason, _settings.ReaskInterval);
        KeepAsking();
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
            SetPassivation();
            return;
        }
        if (_state.Outcome is not null)
        {
            Finish();
            return;
        }
        // A window of members in flight keeps a chord of 100,000 from holding 100,000 live task entities at once.
        _upcoming.Clear();
        var (status, submissions) = _state.Evaluate(_sent.Contains, _settled, Math.Max(0, _settings.MaxInFlight - _awaiting.Count), _upcoming);
        foreach (var submission in submissions)
        {
            if (!_sent.Add(submission.TaskId))
                continue;
            var command = ToCommand(submission);
            _tasks.Tell(command);
            if (submission.AwaitResult)
                _awaiting[command.TaskId] = command;
            else
                _unacknowledged[command.TaskId] = command;
        }
        // The chain's next step is started (recovered: one journal read) while the step before it runs, so its
        // submission finds it ready to journal. Its answer (PENDING, or its result if it ran before a restart) is a
        // member's answer like any other.
        foreach (var next in _upcoming)
        {
            if (!_sent.Contains(next) && _warmed.Add(next))
                _tasks.Tell(new GetTaskResult(next));
        }
        Context.SetReceiveTimeout(null);
        _outcomeWaitsForCallbacks = (status is NodeStatus.Done or NodeStatus.Failed) && _unacknowledged.Count > 0;
        switch (status)
        {
            case NodeStatus.Done or NodeStatus.Failed when _outcomeWaitsForCallbacks:
                // A finished canvas is never evaluated again, not even after a restart, so a callback it fired and
                // lost would never run: the outcome is journaled once every callback's task has journaled it.
                KeepAsking();
                break;
            case NodeStatus.Done done:
                Persist(WithExpiry(new CanvasFinished(_state.CanvasId, TaskState.Success, done.Result, null, DateTimeOffset.UtcNow)), Finished);
                break;
            case NodeStatus.Failed failed:
                Persist(WithExpiry(new CanvasFinished(_state.CanvasId, TaskState.Failure, null, failed.Error, DateTimeOffset.UtcNow)), Finished);
                break;
            default:
                KeepAsking();
                break;
        }
    }

    /// <summary>
    /// A member's entity may have moved (its node died) and forgotten that we wait, or a submission may have been
    /// refused or lost: every re-ask interval, the unanswered ones are sent again. Started once, so a steady stream of
    /// results does not keep postponing it.
    /// </summary>
    private void KeepAsking()
    {
        if (!Timers.IsTimerActive(ReaskKey))
            ScheduleReask();
    }

    private void ScheduleReask() =>
        Timers.StartSingleTimer(ReaskKey, new ReaskMembers(Context.System.Scheduler.Now + _settings.ReaskInterval), _settings.ReaskInterval);

    /// <summary>
    /// A re-ask handled late means results are queued in the mailbox behind it: the members it would send again have
    /// mostly finished (and left memory), so each would be started again only to repeat its result. Such a re-ask is
    /// skipped, but never two in a row, so a lost member waits two intervals at most.
    /// </summary>
    private void OnReask(ReaskMembers due)
    {
        var late = Context.System.Scheduler.Now - due.Due;
        if (late <= ReaskLateness || _skippedReask)
        {
            _skippedReask = false;
            AskMembersAgain();
        }
        else
        {
            _skippedReask = true;
            _log.Debug("Canvas {0}: re-ask skipped, handled {1} late", _state.CanvasId, late);
        }
        ScheduleReask();
    }

    private TimeSpan ReaskLateness => _settings.ReaskInterval / 10 > TimeSpan.FromSeconds(1) ? _settings.ReaskInterval / 10 : TimeSpan.FromSeconds(1);

    private void Finished(CanvasFinished finished)
    {
        _state = _state.Apply(finished);
        Finish();
    }

    private void Finish()
    {
        foreach (var (waiter, asked) in _waiters)
        {
            waiter.Tell(_state.ToResult(Now, asked.MembersOffset, asked.MembersLimit));
            Context.Unwatch(waiter);
        }
        _waiters.Clear();
        if (!_state.IsSettled)
        {
            AwaitStillRunning();
            return;
        }
        Timers.CancelAll();
        SetPassivation();
    }

    /// <summary>The full submissions, not only a request for the result: a member that never got its submission gets it now.</summary>
    private void AskMembersAgain()
    {
        foreach (var command in _awaiting.Values)
            _tasks.Tell(command);
        foreach (var command in _unacknowledged.Values)
            _tasks.Tell(command);
    }

    private void ReplyWhenReady(AwaitCanvasResult asked)
    {
        // An expired canvas is waited on like an unknown one, as an expired task is (its state is gone).
        if (_state.Outcome is not null && !_state.IsResultExpired(Now))
        {
            Sender.Tell(_state.ToResult(Now, asked.MembersOffset, asked.MembersLimit));
            return;
        }
        if (_waiters.TryAdd(Sender, asked))
            Context.Watch(Sender);
        SetPassivation();
    }

    /// <summary>A canvas not started, or settled (finished, its members too), that nobody waits on may leave memory.</summary>
    private bool IsIdle => (!_state.IsStarted || _state.IsSettled) && _waiters.Count == 0;

    private void SetPassivation() => Context.SetReceiveTimeout(IsIdle ? _settings.PassivateAfter : null);

    /// <summary>The idle timeout may be stale (it fired during the start's write): it passivates only a canvas idle now.</summary>
    private void PassivateIfIdle()
    {
        if (IsIdle)
            Passivate();
        else
            Context.SetReceiveTimeout(null);
    }

    private void Passivate()
    {
        _passivating = true;
        // Should the shard ignore the request (it holds messages for this entity), the timeout asks again.
        Context.SetReceiveTimeout(_settings.PassivateAfter);
        Context.Parent.Tell(new Passivate(StopEntity.Instance));
    }

    /// <summary>
    /// The shard's stop message, for a passivation or a hand-off; a write in progress was stored and handled first.
    /// A canvas started since it asked to passivate is started again by its shard as soon as this incarnation stopped.
    /// </summary>
    private void Leave()
    {
        if (_passivating && _state.IsStarted && !_state.IsSettled)
            Context.Parent.Tell(new ShardRegion.StartEntity(_state.CanvasId));
        Context.Stop(Self);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        AnswerStarter(cause, rejected: false);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        AnswerStarter(cause, rejected: true);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <summary>
    /// A start whose <see cref="CanvasStarted"/> was not stored is answered, "not accepted" only when it certainly
    /// was not. Other writes have nobody to answer: the coordinator stops, and its next incarnation goes on.
    /// </summary>
    private void AnswerStarter(Exception cause, bool rejected)
    {
        if (_startedBy is not { } starter)
            return;
        _startedBy = null;
        var id = _state.CanvasId;
        starter.Tell(rejected || WriteFailures.CertainlyNotStored(cause)
            ? new CommandFailed(id, $"canvas {id} was not accepted: the journal {(rejected ? "rejected" : "failed to store")} it ({cause.Message}); nothing was stored")
            : new CommandFailed(id, $"canvas {id} may or may not have been started: the journal did not confirm the write ({cause.Message})",
                OutcomeUnknown: true));
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
        submission.AwaitResult,
        // A member's result must outlive its canvas: it is kept until the canvas expires, which purges it (Expire).
        // Callbacks fired and forgotten expire as tasks do, after the canvas's result_expires if the call gave one.
        ResultExpires: submission.AwaitResult ? TimeSpan.Zero : _state.ResultExpires,
        IgnoreResult: submission.AwaitResult ? false : null,
        // A member is sent again until it answers its result (re-asks, a restarted coordinator): one write for the two.
        JournalWithOutcome: submission.AwaitResult);

    // Retention (issue 17). A canvas may expire once it is settled: finished, and every member it sent finished too
    // (a group's other members still run when one failed; their results are journaled after the outcome). Its final
    // event carries the expiry, and the journal's expiry index is written with it. When it is due, the sweeper asks the
    // coordinator to expire: it purges its finished members' journal state, batch by batch, through the node's
    // purger, and then its own events and snapshots (with the index entry); a purge cut short is done again by the next
    // sweep, from the start, since purging is idempotent.

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private readonly List<IActorRef> _expiring = new();

    /// <summary>The purges left of an expiry in progress: batches of members, the canvas's own id last.</summary>
    private Queue<IReadOnlyList<string>>? _purges;

    private int _membersPurged;

    /// <summary>The outcome, with the members still running that the canvas waits for, or with its expiry if none.</summary>
    private CanvasFinished WithExpiry(CanvasFinished finished)
    {
        var running = _awaiting.Keys.Where(id => !_state.HasFinished(id)).ToArray();
        return running.Length > 0
            ? finished with { StillRunning = running }
            : finished with { ResultExpiresAt = _state.ResultExpiryFor(Now, _settings.ResultExpires) };
    }

    /// <summary>
    /// After the outcome: waits for the members that were still running, asking them again as before (after a restart
    /// their submissions are built again from the tree), and settles once they all finished.
    /// </summary>
    private void AwaitStillRunning()
    {
        var running = _state.StillRunning;
        if (running.Count == 0)
        {
            Persist(new CanvasSettled(_state.CanvasId, DateTimeOffset.UtcNow, _state.ResultExpiryFor(Now, _settings.ResultExpires)), e =>
            {
                _state = _state.Apply(e);
                _awaiting.Clear();
                Finish();
            });
            return;
        }
        var waiting = running.ToHashSet(StringComparer.Ordinal);
        if (waiting.Any(id => !_awaiting.ContainsKey(id)))
        {
            // Each was reachable in the tree when it was sent, and outcomes never change, so a fresh evaluation reaches it again.
            foreach (var submission in _state.Evaluate(id => !waiting.Contains(id) || _awaiting.ContainsKey(id)).Submissions)
            {
                if (!submission.AwaitResult)
                    continue;
                var command = ToCommand(submission);
                _sent.Add(command.TaskId);
                _awaiting[command.TaskId] = command;
                _tasks.Tell(command);
            }
        }
        SetPassivation();
        KeepAsking();
    }

    private void Expire(ExpireCanvas expire)
    {
        if (_state.IsStarted && !_state.IsSettled)
        {
            Sender.Tell(new CommandFailed(_state.CanvasId,
                $"canvas {_state.CanvasId} is not settled (it or a member it sent still runs); it expires only after that"));
            return;
        }
        _expiring.Add(Sender);
        if (_purges is not null)
            return;
        var members = _state.FinishedMembers().Select(TaskEntity.PersistenceIdOf).ToArray();
        _membersPurged = members.Length;
        _purges = new Queue<IReadOnlyList<string>>(members.Chunk(Math.Max(1, expire.BatchSize)));
        _purges.Enqueue([PersistenceId]);
        PurgeNext();
    }

    private void PurgeNext() =>
        Context.ActorSelection(Retention.ResultPurger.Path).Tell(new Retention.PurgeResults(_purges!.Peek(), InMemoryToo: _purges.Count > 1));

    private void OnPurged(Retention.ResultsPurged purged)
    {
        if (_purges is null)
            return;
        if (purged.Failure is not null)
        {
            _purges = null;
            Answer(new CommandFailed(_state.CanvasId, $"canvas {_state.CanvasId} was not purged entirely (the next sweep goes on): {purged.Failure}"));
            return;
        }
        _purges.Dequeue();
        if (_purges.Count > 0)
        {
            PurgeNext();
            return;
        }
        _purges = null;
        _state = _state.ExpiredAt(Now);
        Answer(new CanvasExpired(_state.CanvasId, _membersPurged));
        // The next message finds an empty journal: an unknown canvas.
        Passivate();

        void Answer(object answer)
        {
            foreach (var requester in _expiring)
                requester.Tell(answer);
            _expiring.Clear();
        }
    }

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

    private const string ReaskKey = "reask";

    private sealed record ReaskMembers(DateTimeOffset Due);

    private sealed class TryRecoveryAgain
    {
        public static readonly TryRecoveryAgain Instance = new();
    }
}

/// <param name="ReleaseMemoryAfter">A coordinator of at least this many members asks for a full GC when it stops (0: never).</param>
public sealed record CanvasSettings(TaskRoutes Routes, TimeSpan PassivateAfter, TimeSpan ReaskInterval, int SnapshotEvery, int MaxInFlight,
    int ReleaseMemoryAfter = 0)
{
    /// <summary>The node's <c>jobs.tasks.result-expires</c>: how long a settled canvas is kept when the call does not say.</summary>
    public TimeSpan ResultExpires { get; init; } = TimeSpan.FromDays(1);
}
