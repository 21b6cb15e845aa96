using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Persistence;
using Jobs.Actors.Queues;

namespace Jobs.Actors.Tasks;

/// <summary>
/// One task, sharded by id and persisted as <c>task-{id}</c>: the single source of truth for its state. It
/// enqueues itself when due, waits for the worker's report, journals the outcome, tells whoever awaits it,
/// and schedules its retries; every change is published as a Celery event (to <c>events</c>, the pub-sub mediator)
/// once it is journaled. Unfinished tasks stay alive (after a crash or a hand-off their shard's pending index, or
/// remember-entities on the SQLite journal, starts them again); finished ones passivate.
/// </summary>
public sealed class TaskEntity : UntypedPersistentActor, IWithTimers
{
    private readonly IActorRef _queues;
    private readonly TaskEntitySettings _settings;
    private readonly IActorRef? _events;
    /// <summary>Its queue partition and its worker are watched through the node's one watch of each, not per task.</summary>
    private readonly NodeDeathWatch _deaths = NodeDeathWatch.Get(Context.System);
    private readonly HashSet<IActorRef> _waiters = new();
    private TaskEntityState _state;
    private IActorRef? _queue;

    /// <summary>
    /// The attempt may be queued or running where this incarnation cannot see (it was recovered, or its partition died):
    /// the next enqueue asks the partitions to look for it first (<see cref="EnqueueTask.Reclaim"/>).
    /// </summary>
    private bool _reclaim;
    private IActorRef? _worker;
    /// <summary>Who is answered if the write in progress is not stored, and what it was ("task x", "the revoke of task x").</summary>
    private (IActorRef ReplyTo, string Subject)? _awaitingPersist;
    private bool _announcedWaiting;

    /// <summary>This entity asked its shard to passivate it; the shard's <see cref="StopEntity"/> follows.</summary>
    private bool _passivating;

    /// <summary>
    /// Submitted by someone awaiting the result (a canvas's coordinator, a synchronous apply): once told, the task
    /// leaves memory at once instead of idling, so a chord of 100,000 holds its window of tasks, not every task of
    /// the last few seconds. A later read recovers it from the journal.
    /// </summary>
    private bool _leaveOnceAnswered;

    /// <summary>A waiter has been told the result: the task idles <see cref="TaskEntitySettings.PassivateAfterAnswered"/>, not the full time.</summary>
    private bool _answered;

    /// <summary>
    /// Accepted by a <see cref="SubmitTask.JournalWithOutcome"/> submission and not journaled yet: the next write carries
    /// it (normally with the attempt's outcome), and a body that runs a while, or a hand-off, journals it on its own.
    /// </summary>
    private TaskReceived? _unjournaledAcceptance;

    /// <summary>Who asked to forget the result while its purge runs.</summary>
    private readonly List<IActorRef> _forgetting = new();

    public TaskEntity(string taskId, IActorRef queues, TaskEntitySettings settings, IActorRef? events)
    {
        _queues = queues;
        _settings = settings;
        _events = events;
        _state = TaskEntityState.Empty(taskId, settings.ResultExpires);
        PersistenceId = PersistenceIdOf(taskId);
        // A task never snapshots (a handful of events is its whole life), so recovery skips asking the snapshot store:
        // one journal round trip fewer for every task started.
        SnapshotPluginId = NoSnapshots;
    }

    // A switch, not ReceivePersistentActor's Command<T>/Recover<T>: those build a handler table for every instance,
    // and an instance lives for one task (~1.5% of a node's CPU under W1 went to building them).

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case ITaskEvent e:
                _state = _state.Apply(e);
                break;
            case RecoveryCompleted:
                _state = _state.AfterRecovery();
                _reclaim = _state.IsKnown && !_state.IsReady;
                PlanNextStep();
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case SubmitTask command: Submit(command); break;
            case GetTaskResult: Sender.Tell(_state.ToResult(Now)); break;
            case GetTaskInfo: Sender.Tell(_state.ToInfo(Now)); break;
            case ForgetTaskResult: Forget(); break;
            case Retention.ResultsPurged purged: OnPurged(purged); break;
            case Retention.TaskResultPurged: OnPurgedWithCanvas(); break;
            case AwaitTaskResult: ReplyWhenReady(Sender); break;
            case TaskEnqueued: OnEnqueued(); break;
            case MarkTaskStarted started: OnStarted(started); break;
            case CompleteAttempt completed: OnAttemptCompleted(completed); break;
            case LeaseLost lost: OnLeaseLost(lost); break;
            case AttemptCheckDue: CheckStartedAttempt(); break;
            case AttemptStatus status: OnAttemptStatus(status); break;
            case RevokeTask revoke: Revoke(revoke); break;
            case AttemptDue or EnqueueUnconfirmed: EnqueueUnlessStarted(); break;
            case ExpiryDue: PersistAndContinue(_state.DecideExpiry(Now)); break;
            case AcceptanceDue: JournalAcceptance(); break;
            case Terminated terminated: OnTerminated(terminated.ActorRef); break;
            case DependencyTerminated terminated: OnTerminated(terminated.Target); break;
            case ReceiveTimeout: PassivateIfIdle(); break;
            case StopEntity: Leave(); break;
            default: Unhandled(message); break;
        }
    }

    public static string PersistenceIdOf(string taskId) => "task-" + taskId;

    private const string NoSnapshots = "akka.persistence.no-snapshot-store";

    /// <param name="events">Where task events are published (DistributedPubSub's mediator); null publishes none.</param>
    public static Props Props(string taskId, IActorRef queues, TaskEntitySettings settings, IActorRef? events = null) =>
        FactoryProps.Of(() => new TaskEntity(taskId, queues, settings, events));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private void Submit(SubmitTask command)
    {
        var events = _state.Decide(command, Now);
        if (events.Count == 0)
        {
            Reply(command, Sender);
            return;
        }
        if (command is { JournalWithOutcome: true, AwaitResult: true } && events is [TaskReceived { DueAt: null } received]
            && _settings.MemberAcceptanceDelay > TimeSpan.Zero)
        {
            // Nobody is answered before the task is finished, and the submitter sends it again until then: it runs now.
            // Unfinished after the delay, it is journaled on its own (AcceptanceDue).
            _unjournaledAcceptance = received;
            Timers.StartSingleTimer(AcceptanceDue.Instance, AcceptanceDue.Instance, _settings.MemberAcceptanceDelay);
            _state = _state.Apply(received);
            PlanNextStep();
            Reply(command, Sender);
            return;
        }
        _awaitingPersist = (Sender, $"task {_state.TaskId}");
        var replyTo = Sender;
        Write(events, e =>
        {
            _state = _state.Apply(e);
            Publish(e);
            _awaitingPersist = null;
            PlanNextStep();
            Reply(command, replyTo);
        });
    }

    private void Reply(SubmitTask command, IActorRef replyTo)
    {
        if (command.AwaitResult)
        {
            _leaveOnceAnswered = !_state.IsReady;
            ReplyWhenReady(replyTo);
        }
        else
            replyTo.Tell(_state.ToResult(Now));
    }

    /// <summary>An expired result is waited on like an unknown task, as in Celery (its state is gone).</summary>
    private void ReplyWhenReady(IActorRef waiter)
    {
        if (_state.IsReady && !_state.IsResultExpired(Now))
        {
            waiter.Tell(_state.ToResult());
            _answered = true;
            SetPassivation();
            return;
        }
        if (_waiters.Add(waiter))
            Context.Watch(waiter);
        SetPassivation();
    }

    /// <summary>
    /// A partition took the attempt: the one of this node, or another node's that held it already (a reclaimed attempt),
    /// which then answers too, so the last to answer is the one watched.
    /// </summary>
    private void OnEnqueued()
    {
        Timers.Cancel(EnqueueUnconfirmed.Instance);
        _reclaim = false;
        if (_queue is not null && !_queue.Equals(Sender))
            _deaths.Unwatch(_queue, Self);
        _queue = Sender;
        _deaths.Watch(_queue, Self);
    }

    /// <summary>
    /// A member still unfinished after <see cref="TaskEntitySettings.MemberAcceptanceDelay"/>: its acceptance is
    /// journaled now. A write in progress took it already (the timer was cancelled then) or the timer is stale.
    /// </summary>
    private void JournalAcceptance()
    {
        if (_unjournaledAcceptance is not null)
            Write([], _ => { });
    }

    private void OnStarted(MarkTaskStarted started)
    {
        if (_unjournaledAcceptance is not null)
        {
            // A body that runs a while: its acceptance is journaled now (a crash then restarts it from its shard's pending
            // index, not only once its submitter asks again), and its start is told after it.
            Write([], _ => { });
            DeferAsync(started, OnStarted);
            return;
        }
        if (_state.State == TaskState.Revoked)
        {
            // A revoke that raced the dispatch: the body started after the revoke was journaled (the queue's cancel had not
            // reached the worker yet). Its token is cancelled now; its report changes nothing, the task stays REVOKED.
            started.WorkerRef.Tell(new CancelAttempt(_state.TaskId, _state.RevokedReason == RevocationReasons.Terminated));
            return;
        }
        var before = _state;
        _state = _state.Apply(started);
        if (ReferenceEquals(before, _state))
            return;
        _events?.Tell(new Publish(MonitoringTopics.Tasks, TaskEvents.Started(started, _state)));
        if (_worker is not null)
            _deaths.Unwatch(_worker, Self);
        _worker = started.WorkerRef;
        _deaths.Watch(_worker, Self);
        WatchStartedAttempt();
    }

    private void Revoke(RevokeTask revoke)
    {
        var events = _state.Decide(revoke, Now);
        if (events.Count == 0)
        {
            Sender.Tell(_state.ToResult(Now));
            return;
        }
        var replyTo = Sender;
        var queue = _state.Queue;
        var worker = _worker;
        _awaitingPersist = (Sender, $"the revoke of task {_state.TaskId}");
        Write(events, e =>
        {
            _state = _state.Apply(e);
            Publish(e);
            _awaitingPersist = null;
            Context.System.EventStream.Publish(e);
            // Journaled first, so a restart cannot run it; then the queue and the worker are told, best effort.
            if (queue is not null)
                ForgetInQueue(queue, revoke.Terminate);
            worker?.Tell(new CancelAttempt(_state.TaskId, revoke.Terminate));
            if (_worker is not null)
            {
                _deaths.Unwatch(_worker, Self);
                _worker = null;
            }
            PlanNextStep();
            replyTo.Tell(_state.ToResult());
        });
    }

    private void OnAttemptCompleted(CompleteAttempt completed)
    {
        var events = _state.Decide(completed, Now);
        var recorded = new AttemptRecorded(completed.TaskId, completed.Retries);
        if (events.Count == 0)
        {
            // Stale, a duplicate, or already settled: nothing to journal, but the worker may stop resending it.
            Sender.Tell(recorded);
            return;
        }
        if (_worker is not null)
        {
            _deaths.Unwatch(_worker, Self);
            _worker = null;
        }
        // A short body's start is told with its end (jobs.worker.started-report-delay): its event goes out first.
        if (completed.StartUnreported && _state.State != TaskState.Started)
            _events?.Tell(new Publish(MonitoringTopics.Tasks, TaskEvents.Started(
                new MarkTaskStarted(completed.TaskId, completed.Retries, completed.Worker, Sender, completed.StartedAt), _state)));
        PersistAndContinue(events);
        var worker = Sender;
        DeferAsync(recorded, ack => worker.Tell(ack));
    }

    // The watchdog of a started attempt and the queue's lost leases (W-E in the core review): a worker that is alive
    // but no longer runs the attempt, or a lease lost on its way to a worker, fires no DeathWatch, so each has a
    // deadline here instead.

    private void WatchStartedAttempt() =>
        Timers.StartPeriodicTimer(AttemptCheckDue.Instance, AttemptCheckDue.Instance, _settings.AttemptCheckInterval);

    /// <summary>No report yet: ask the worker whether it still runs the attempt (it resends a report it holds).</summary>
    private void CheckStartedAttempt()
    {
        if (_state.State != TaskState.Started || _worker is null)
        {
            Timers.Cancel(AttemptCheckDue.Instance);
            return;
        }
        _worker.Tell(new CheckAttempt(_state.TaskId, _state.Retries));
    }

    /// <summary>The worker neither runs the attempt nor holds its report: run it again, as if the worker had died.</summary>
    private void OnAttemptStatus(AttemptStatus status)
    {
        if (status.Running || _state.State != TaskState.Started || status.Retries != _state.Retries || !Sender.Equals(_worker))
            return;
        Log.Warning("Task {0}: worker {1} no longer runs attempt {2} and never reported it; running it again",
            _state.TaskId, Sender.Path, _state.Retries + 1);
        _deaths.Unwatch(_worker, Self);
        _worker = null;
        Timers.Cancel(AttemptCheckDue.Instance);
        _state = _state.AfterRecovery();
        Enqueue();
    }

    /// <summary>The queue ended this attempt's lease without a worker holding it: enqueue again if still waiting for it.</summary>
    private void OnLeaseLost(LeaseLost lost)
    {
        if (!_state.IsKnown || _state.IsReady || _state.State == TaskState.Started || lost.Retries != _state.Retries || _state.DueAt > Now)
            return;
        Log.Warning("Task {0}: attempt {1} was lost on its way to a worker; enqueuing it again", _state.TaskId, _state.Retries + 1);
        Enqueue();
    }

    // Retention (issue 17). Expiry itself needs nothing here: the final event carries its result's expiry, the journal's
    // expiry index is written with it, reads of an expired result answer PENDING, and a finished task never writes
    // again, so the sweeper may purge it even while it is in memory. A forget purges at once, through the node's purger.

    private void Forget()
    {
        if (!_state.IsReady)
        {
            Sender.Tell(new ForgetRefused(_state.TaskId, _state.State));
            return;
        }
        if (_forgetting.Count == 0)
            Context.ActorSelection(Retention.ResultPurger.Path).Tell(new Retention.PurgeResults([PersistenceId]));
        _forgetting.Add(Sender);
        if (!_state.IsResultExpired(Now))
            _state = _state with { ResultExpiresAt = Now };
    }

    /// <summary>A canvas member kept its result for ever by its own rules; its canvas expired and purged it.</summary>
    private void OnPurgedWithCanvas()
    {
        if (!_state.IsReady)
            return;
        if (!_state.IsResultExpired(Now))
            _state = _state with { ResultExpiresAt = Now };
        if (_waiters.Count == 0)
            Passivate();
    }

    private void OnPurged(Retention.ResultsPurged purged)
    {
        object answer = purged.Failure is null
            ? new TaskResult(_state.TaskId, TaskState.Pending)
            : new CommandFailed(_state.TaskId, $"the result of task {_state.TaskId} may not have been forgotten: {purged.Failure}");
        foreach (var requester in _forgetting)
            requester.Tell(answer);
        _forgetting.Clear();
        if (purged.Failure is null && _waiters.Count == 0)
            Passivate();
    }

    private void PersistAndContinue(IReadOnlyList<ITaskEvent> events)
    {
        if (events.Count == 0)
            return;
        Write(events, e =>
        {
            _state = _state.Apply(e);
            Publish(e);
            if (e is TaskRevoked)
                Context.System.EventStream.Publish(e);
            PlanNextStep();
        });
    }

    /// <summary>
    /// No idle timeout runs while a write is in progress. One that fired already waits in the stash and is handled
    /// after the write, against the state the write made (<see cref="PassivateIfIdle"/>).
    /// </summary>
    private void Write(IReadOnlyList<ITaskEvent> events, Action<ITaskEvent> handler)
    {
        Context.SetReceiveTimeout(null);
        if (_unjournaledAcceptance is { } acceptance)
        {
            // Applied already; only told once stored, like every event.
            _unjournaledAcceptance = null;
            Timers.Cancel(AcceptanceDue.Instance);
            PersistAll([acceptance, .. events], e =>
            {
                if (ReferenceEquals(e, acceptance))
                    Publish(e);
                else
                    handler(e);
            });
            return;
        }
        PersistAll(events, handler);
    }

    /// <summary>
    /// Published only after the journal write, so a subscriber never sees a change a crash could undo; in the write's
    /// handler, the last sequence number is the event's own (the monitor's sweep skips the events it was sent).
    /// </summary>
    private void Publish(ITaskEvent journaled) =>
        _events?.Tell(new Publish(MonitoringTopics.Tasks, TaskEvents.From(journaled, _state, LastSequenceNr)));

    /// <summary>After every change: tell waiters once ready, else arm the timer or enqueue.</summary>
    private void PlanNextStep()
    {
        if (_state.IsReady)
        {
            WithdrawWaiting();
            Timers.CancelAll();
            if (_queue is not null)
                _deaths.Unwatch(_queue, Self);
            _queue = null;
            var result = _state.ToResult();
            foreach (var waiter in _waiters)
            {
                waiter.Tell(result);
                Context.Unwatch(waiter);
            }
            _answered |= _waiters.Count > 0;
            _waiters.Clear();
            if (_leaveOnceAnswered)
                Passivate();
            else
                SetPassivation();
            return;
        }
        if (!_state.IsKnown)
        {
            SetPassivation();
            return;
        }
        Context.SetReceiveTimeout(null);
        if (_state.ExpiresAt is { } expires)
            Timers.StartSingleTimer(ExpiryDue.Instance, ExpiryDue.Instance, Max(expires - Now, TimeSpan.Zero));
        if (_state.DueAt is { } due && due > Now)
        {
            Timers.StartSingleTimer(AttemptDue.Instance, AttemptDue.Instance, due - Now);
            _announcedWaiting = true;
            Context.System.EventStream.Publish(new TaskWaiting(_state.TaskId, _state.Name!, _state.Queue!, due, _state.Retries, Self));
        }
        else
        {
            Enqueue();
        }
    }

    /// <summary>The node's <see cref="ScheduledTaskRegistry"/> lists this task while it waits for its due time.</summary>
    private void WithdrawWaiting()
    {
        if (!_announcedWaiting)
            return;
        _announcedWaiting = false;
        Context.System.EventStream.Publish(new TaskNoLongerWaiting(_state.TaskId));
    }

    /// <summary>
    /// A due time or an unconfirmed enqueue whose timer fired while the attempt runs: the task is with its worker (the
    /// queue's confirmation may trail the worker's start), and enqueuing it again would run it twice.
    /// </summary>
    private void EnqueueUnlessStarted()
    {
        if (_state.State != TaskState.Started)
            Enqueue();
    }

    /// <summary>The partition that took the attempt is told, or this node's (which has it, if anyone does) before one answered.</summary>
    private void ForgetInQueue(string queue, bool terminate) => (_queue ?? _queues).Tell(new ForgetTask(queue, _state.TaskId, terminate));

    /// <summary>To this node's queues (its host passes it to the partition of the task's queue), which answer <see cref="TaskEnqueued"/>.</summary>
    private void Enqueue()
    {
        WithdrawWaiting();
        if (!_state.IsKnown || _state.IsReady)
            return;
        if (_state.IsExpired(Now))
        {
            PersistAndContinue(_state.DecideExpiry(Now));
            return;
        }
        var envelope = new TaskEnvelope(_state.TaskId, _state.Name!, _state.Args!.Value, _state.Kwargs!.Value,
            _state.Queue!, _state.Retries, _state.ExpiresAt);
        _queues.Tell(new EnqueueTask(envelope.Queue, envelope, _reclaim));
        // The message may be lost, or the partition starting over; until it confirms, ask again.
        Timers.StartSingleTimer(EnqueueUnconfirmed.Instance, EnqueueUnconfirmed.Instance, _settings.EnqueueConfirmTimeout);
    }

    private void OnTerminated(IActorRef who)
    {
        if (_waiters.Remove(who))
        {
            SetPassivation();
            return;
        }
        if (who.Equals(_worker))
        {
            _worker = null;
            Log.Warning("Task {0}: worker {1} died during attempt {2}; running it again", _state.TaskId, who.Path, _state.Retries + 1);
            _state = _state.AfterRecovery();
            Enqueue();
        }
        else if (who.Equals(_queue))
        {
            _queue = null;
            _reclaim = true;
            // A running attempt stays with its live worker; only a waiting task needs a new queue.
            if (_state.State != TaskState.Started && !(_state.DueAt > Now))
                Enqueue();
        }
    }

    /// <summary>Finished (or unknown) tasks nobody waits on may leave memory (and, with remember-entities, sharding forgets them).</summary>
    private bool IsIdle => (_state.IsReady || !_state.IsKnown) && _waiters.Count == 0;

    private void SetPassivation() =>
        Context.SetReceiveTimeout(IsIdle ? _answered ? _settings.PassivateAfterAnswered : _settings.PassivateAfter : null);

    /// <summary>
    /// The idle timeout may be stale: it can fire during a write (or wait in the mailbox behind a submission) and be
    /// handled once the task was accepted. It passivates only a task that is idle now.
    /// </summary>
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
    /// The shard's stop message, for a passivation or a hand-off. A write in progress has been stored and handled
    /// by now (the stop message waited in the stash). A passivation asked for while idle can find the task accepted
    /// since, by a submission delivered before the shard took the request: the shard is asked to start it again,
    /// which it does as soon as this incarnation has stopped, so its countdown and its enqueue are not lost.
    /// </summary>
    private void Leave()
    {
        if (_unjournaledAcceptance is not null)
        {
            // Handed off while its attempt is out: journaled first, so the next incarnation takes the task over.
            Write([], _ => { });
            DeferAsync(StopEntity.Instance, _ => Leave());
            return;
        }
        if (_passivating && _state.IsKnown && !_state.IsReady)
            Context.Parent.Tell(new ShardRegion.StartEntity(_state.TaskId));
        Context.Stop(Self);
    }

    /// <summary>The node's watch forgets this incarnation (a restart, a passivation, a hand-off).</summary>
    protected override void PostStop()
    {
        if (_queue is not null)
            _deaths.Unwatch(_queue, Self);
        if (_worker is not null)
            _deaths.Unwatch(_worker, Self);
        base.PostStop();
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        AnswerUnstored(cause, rejected: false);
        // The entity stops. Remembered entities are restarted by their shard after its backoff; without
        // remember-entities (the pending index) the entity asks its shard for the same restart itself.
        if (_settings.RestartAfterFailure is { } backoff)
            Context.System.Scheduler.ScheduleTellOnce(backoff, Context.Parent, new ShardRegion.StartEntity(_state.TaskId), ActorRefs.NoSender);
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        AnswerUnstored(cause, rejected: true);
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    /// <summary>
    /// "Not accepted" only when the write certainly was not stored; otherwise the outcome is unknown, and the task may
    /// still run (a restarted entity recovers a write that was stored after all). Either answer names the task.
    /// </summary>
    private void AnswerUnstored(Exception cause, bool rejected)
    {
        if (_awaitingPersist is not { } awaiting)
            return;
        _awaitingPersist = null;
        var (replyTo, subject) = awaiting;
        replyTo.Tell(rejected || WriteFailures.CertainlyNotStored(cause)
            ? new CommandFailed(_state.TaskId,
                $"{subject} was not accepted: the journal {(rejected ? "rejected" : "failed to store")} it ({cause.Message}); nothing was stored")
            : new CommandFailed(_state.TaskId,
                $"{subject} may or may not have been accepted: the journal did not confirm the write ({cause.Message})", OutcomeUnknown: true));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private sealed class AttemptDue
    {
        public static readonly AttemptDue Instance = new();
    }

    private sealed class EnqueueUnconfirmed
    {
        public static readonly EnqueueUnconfirmed Instance = new();
    }

    private sealed class AcceptanceDue
    {
        public static readonly AcceptanceDue Instance = new();
    }

    private sealed class ExpiryDue
    {
        public static readonly ExpiryDue Instance = new();
    }

    private sealed class AttemptCheckDue
    {
        public static readonly AttemptCheckDue Instance = new();
    }
}

public sealed record TaskEntitySettings(TimeSpan PassivateAfter, TimeSpan EnqueueConfirmTimeout)
{
    /// <summary>
    /// How long a finished task idles once a waiter was told its result (<c>jobs.tasks.passivate-after-answered</c>):
    /// the caller has its answer, so a shorter stay than <see cref="PassivateAfter"/> keeps fewer entities alive.
    /// </summary>
    public TimeSpan PassivateAfterAnswered { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a finished result is kept when neither call nor task says (<c>jobs.tasks.result-expires</c>); zero: for ever.</summary>
    public TimeSpan ResultExpires { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How often a started attempt with no report asks its worker whether it still runs (<c>jobs.tasks.attempt-check-interval</c>).</summary>
    public TimeSpan AttemptCheckInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a canvas member's acceptance may stay in memory only, waiting to be journaled with its outcome
    /// (<c>jobs.tasks.member-acceptance-delay</c>); zero journals it first.
    /// </summary>
    public TimeSpan MemberAcceptanceDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// After a failed write the stopped entity asks its shard to start it again this much later; null when sharding's
    /// remember-entities does that (<c>akka.cluster.sharding.entity-restart-backoff</c> either way).
    /// </summary>
    public TimeSpan? RestartAfterFailure { get; init; }
}
