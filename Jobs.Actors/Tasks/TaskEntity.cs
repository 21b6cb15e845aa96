using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Queues;

namespace Jobs.Actors.Tasks;

/// <summary>
/// One task, sharded by id and persisted as <c>task-{id}</c>: the single source of truth for its state. It
/// enqueues itself when due, waits for the worker's report, journals the outcome, tells whoever awaits it,
/// and schedules its retries; every change is published as a Celery event (to <c>events</c>, the pub-sub mediator)
/// once it is journaled. Unfinished tasks stay alive (so remember-entities restarts them after a crash);
/// finished ones passivate.
/// </summary>
public sealed class TaskEntity : ReceivePersistentActor, IWithTimers
{
    private readonly IActorRef _queues;
    private readonly TaskEntitySettings _settings;
    private readonly IActorRef? _events;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<IActorRef> _waiters = new();
    private TaskEntityState _state;
    private IActorRef? _queue;

    /// <summary>
    /// The attempt may be queued or running where this incarnation cannot see (it was recovered, or its partition died):
    /// the next enqueue asks the partitions to look for it first (<see cref="EnqueueTask.Reclaim"/>).
    /// </summary>
    private bool _reclaim;
    private IActorRef? _worker;
    private IActorRef? _awaitingPersist;
    private bool _announcedWaiting;

    /// <summary>
    /// Submitted by someone awaiting the result (a canvas's coordinator, a synchronous apply): once told, the task
    /// leaves memory at once instead of idling, so a chord of 100,000 holds its window of tasks, not every task of
    /// the last few seconds. A later read recovers it from the journal.
    /// </summary>
    private bool _leaveOnceAnswered;

    public TaskEntity(string taskId, IActorRef queues, TaskEntitySettings settings, IActorRef? events)
    {
        _queues = queues;
        _settings = settings;
        _events = events;
        _state = TaskEntityState.Empty(taskId);
        PersistenceId = PersistenceIdOf(taskId);
        // A task never snapshots (a handful of events is its whole life), so recovery skips asking the snapshot store:
        // one journal round trip fewer for every task started.
        SnapshotPluginId = NoSnapshots;

        Recover<ITaskEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            _state = _state.AfterRecovery();
            _reclaim = _state.IsKnown && !_state.IsReady;
            PlanNextStep();
        });

        Command<SubmitTask>(Submit);
        Command<GetTaskResult>(_ => Sender.Tell(_state.ToResult()));
        Command<GetTaskInfo>(_ => Sender.Tell(_state.ToInfo()));
        Command<AwaitTaskResult>(_ => ReplyWhenReady(Sender));
        Command<TaskEnqueued>(_ => OnEnqueued());
        Command<MarkTaskStarted>(OnStarted);
        Command<CompleteAttempt>(OnAttemptCompleted);
        Command<LeaseLost>(OnLeaseLost);
        Command<AttemptCheckDue>(_ => CheckStartedAttempt());
        Command<AttemptStatus>(OnAttemptStatus);
        Command<RevokeTask>(Revoke);
        Command<AttemptDue>(_ => Enqueue());
        Command<EnqueueUnconfirmed>(_ => Enqueue());
        Command<ExpiryDue>(_ => PersistAndContinue(_state.DecideExpiry(Now)));
        Command<Terminated>(OnTerminated);
        Command<ReceiveTimeout>(_ => Passivate());
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
        _awaitingPersist = Sender;
        var replyTo = Sender;
        PersistAll(events, e =>
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
            replyTo.Tell(_state.ToResult());
    }

    private void ReplyWhenReady(IActorRef waiter)
    {
        if (_state.IsReady)
        {
            waiter.Tell(_state.ToResult());
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
            Context.Unwatch(_queue);
        _queue = Sender;
        Context.Watch(_queue);
    }

    private void OnStarted(MarkTaskStarted started)
    {
        var before = _state;
        _state = _state.Apply(started);
        if (ReferenceEquals(before, _state))
            return;
        _events?.Tell(new Publish(MonitoringTopics.Tasks, TaskEvents.Started(started, _state)));
        if (_worker is not null)
            Context.Unwatch(_worker);
        _worker = started.WorkerRef;
        Context.Watch(_worker);
        WatchStartedAttempt();
    }

    private void Revoke(RevokeTask revoke)
    {
        var events = _state.Decide(revoke, Now);
        if (events.Count == 0)
        {
            Sender.Tell(_state.ToResult());
            return;
        }
        var replyTo = Sender;
        var queue = _state.Queue;
        var worker = _worker;
        _awaitingPersist = Sender;
        PersistAll(events, e =>
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
                Context.Unwatch(_worker);
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
            Context.Unwatch(_worker);
            _worker = null;
        }
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
        _log.Warning("Task {0}: worker {1} no longer runs attempt {2} and never reported it; running it again",
            _state.TaskId, Sender.Path, _state.Retries + 1);
        Context.Unwatch(_worker);
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
        _log.Warning("Task {0}: attempt {1} was lost on its way to a worker; enqueuing it again", _state.TaskId, _state.Retries + 1);
        Enqueue();
    }

    private void PersistAndContinue(IReadOnlyList<ITaskEvent> events)
    {
        if (events.Count == 0)
            return;
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            Publish(e);
            if (e is TaskRevoked)
                Context.System.EventStream.Publish(e);
            PlanNextStep();
        });
    }

    /// <summary>Published only after the journal write, so a subscriber never sees a change a crash could undo.</summary>
    private void Publish(ITaskEvent journaled) =>
        _events?.Tell(new Publish(MonitoringTopics.Tasks, TaskEvents.From(journaled, _state)));

    /// <summary>After every change: tell waiters once ready, else arm the timer or enqueue.</summary>
    private void PlanNextStep()
    {
        if (_state.IsReady)
        {
            WithdrawWaiting();
            Timers.CancelAll();
            if (_queue is not null)
                Context.Unwatch(_queue);
            _queue = null;
            var result = _state.ToResult();
            foreach (var waiter in _waiters)
            {
                waiter.Tell(result);
                Context.Unwatch(waiter);
            }
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

    private void OnTerminated(Terminated terminated)
    {
        var who = terminated.ActorRef;
        if (_waiters.Remove(who))
        {
            SetPassivation();
            return;
        }
        if (who.Equals(_worker))
        {
            _worker = null;
            _log.Warning("Task {0}: worker {1} died during attempt {2}; running it again", _state.TaskId, who.Path, _state.Retries + 1);
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

    /// <summary>Idle finished (or unknown) tasks leave memory; sharding forgets them as remembered entities.</summary>
    private void SetPassivation()
    {
        if ((_state.IsReady || !_state.IsKnown) && _waiters.Count == 0)
            Context.SetReceiveTimeout(_settings.PassivateAfter);
        else
            Context.SetReceiveTimeout(null);
    }

    private void Passivate()
    {
        Context.SetReceiveTimeout(null);
        Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(PoisonPill.Instance));
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _awaitingPersist?.Tell(new Status.Failure(new TaskNotAcceptedException(
            $"task {_state.TaskId} was not accepted: the journal failed to store it ({cause.Message})", cause)));
        _awaitingPersist = null;
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        _awaitingPersist?.Tell(new Status.Failure(new TaskNotAcceptedException(
            $"task {_state.TaskId} was not accepted: the journal rejected it ({cause.Message})", cause)));
        _awaitingPersist = null;
        base.OnPersistRejected(cause, @event, sequenceNr);
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
    /// <summary>How often a started attempt with no report asks its worker whether it still runs (<c>jobs.tasks.attempt-check-interval</c>).</summary>
    public TimeSpan AttemptCheckInterval { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>A submission the journal did not store: the client gets this instead of an acknowledgement.</summary>
public class TaskNotAcceptedException(string message, Exception? inner = null) : Exception(message, inner);
