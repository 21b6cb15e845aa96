using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Beat;

/// <summary>
/// One schedule entry, sharded by name and persisted as <c>beat-{name}</c>. At each tick it journals "tick T fired as
/// task id X" (the id derived from the entry and the tick), then sends the task and sends it again until the task
/// entity acknowledges it (RECEIVED); only then does it decide the next tick. A restarted entry (a crash, a shard
/// moved to another node) sends its last fired task again: the same id, so the same task, never a second one; and
/// ticks it has not journaled it decides afresh by its catch-up policy. An entry whose next tick is far away, or
/// that is paused, tells its directory partition when to wake it and leaves memory.
/// </summary>
public sealed class BeatEntity : ReceivePersistentActor, IWithTimers
{
    private readonly IActorRef _tasks;
    private readonly IActorRef _directory;
    private readonly BeatSettings _settings;
    private readonly TaskRoutes _routes;
    private readonly IActorRef? _events;
    private readonly int _partition;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private BeatEntityState _state;

    /// <summary>The fired task not yet acknowledged by its task entity, and who waits for that (a run-now request).</summary>
    private SubmitTask? _undelivered;

    private readonly List<IActorRef> _deliveryWaiters = new();

    /// <summary>Whether the last run has finished: null while unknown (asked when an overlap policy needs it).</summary>
    private bool? _lastRunFinished;

    private bool _askingLastRun;
    private long _correlation;

    /// <summary>The durable listing awaited from the directory, and who waits for it (a define, pause or resume).</summary>
    private long _listingAwaited;

    private readonly List<(IActorRef ReplyTo, object Answer)> _listingWaiters = new();
    private ListEntry? _listingToResend;
    private long _sleepCorrelation;
    private EntryView? _lastReported;
    private int _eventsSinceSnapshot;
    private bool _started;

    public BeatEntity(string name, IActorRef tasks, IActorRef directory, BeatSettings settings, TaskRoutes routes, IActorRef? events)
    {
        _tasks = tasks;
        _directory = directory;
        _settings = settings;
        _routes = routes;
        _events = events;
        _partition = BeatDirectory.PartitionOf(name, settings.DirectoryPartitions);
        _state = BeatEntityState.Empty(name);
        PersistenceId = PersistenceIdOf(name);

        Recover<SnapshotOffer>(offer => _state = (BeatEntityState)offer.Snapshot);
        Recover<IBeatEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => Start());
        Running();
    }

    private void Running()
    {
        Command<GetEntry>(_ => Sender.Tell(_state.IsDefined ? _state.ToView() : NotFound()));
        Command<DefineEntry>(define => Change(_state.Decide(define, Now), durableListing: true));
        Command<PauseEntry>(pause => Change(_state.Decide(pause, Now), durableListing: true));
        Command<ResumeEntry>(resume => Change(_state.Decide(resume, Now), durableListing: true));
        Command<RemoveEntry>(remove => Change(_state.Decide(remove, Now), durableListing: true));
        Command<RunEntryNow>(run => Change(_state.Decide(run, Now), durableListing: false));
        Command<WakeEntry>(_ =>
        {
            Sender.Tell(new EntryWoken(_partition, _state.Name));
            Plan();
        });
        Command<TickDue>(_ => Plan());
        Command<TaskResult>(OnTaskResult);
        Command<CommandFailed>(failed => _log.Warning("Beat {0}: a task submission was not confirmed ({1}); sending it again in {2}",
            _state.Name, failed.Reason, _settings.ResendInterval));
        Command<Resend>(_ => ResendUnanswered());
        Command<EntryListed>(OnListed);
        Command<StopEntity>(_ => Context.Stop(Self));
        Command<ReceiveTimeout>(_ => Passivate());
        Command<SaveSnapshotSuccess>(saved =>
        {
            DeleteMessages(saved.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failed => _log.Warning("Beat {0}: snapshot failed: {1}", _state.Name, failed.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failed => _log.Warning("Beat {0}: deleting events failed: {1}", _state.Name, failed.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failed => _log.Warning("Beat {0}: deleting snapshots failed: {1}", _state.Name, failed.Cause.Message));
    }

    public static string PersistenceIdOf(string name) => "beat-" + name;

    public static Props Props(string name, IActorRef tasks, IActorRef directory, BeatSettings settings, TaskRoutes routes, IActorRef? events = null) =>
        FactoryProps.Of(() => new BeatEntity(name, tasks, directory, settings, routes, events));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    private EntryRejected NotFound() => new(_state.Name, "name", $"no schedule entry named '{_state.Name}'", NotFound: true);

    /// <summary>
    /// After recovery: the last fired task is sent again (a crash may have come between journaling and sending; the
    /// same id makes a second send harmless), the directory hears where the entry stands, and the next tick is planned.
    /// </summary>
    private void Start()
    {
        if (!_state.IsDefined)
        {
            // A name nobody defined (a GET of an unknown entry): leave soon, without listing anything.
            Context.SetReceiveTimeout(TimeSpan.FromSeconds(5));
            return;
        }
        _started = true;
        if (_state.LastRun is { } last)
            Send(last);
        List(durable: true, replyTo: null, answer: null);
        Plan();
    }

    /// <summary>A command's events are journaled, then the directory hears of them; the requester is answered after both.</summary>
    private void Change(BeatDecision decision, bool durableListing)
    {
        if (decision.Rejection is { } rejected)
        {
            Sender.Tell(rejected);
            return;
        }
        if (decision.Events.Count == 0)
        {
            Sender.Tell(_state.IsDefined ? _state.ToView() : NotFound());
            return;
        }
        var replyTo = Sender;
        var count = 0;
        PersistAll(decision.Events, e =>
        {
            Applied(e);
            if (++count < decision.Events.Count)
                return;
            _started = true;
            Context.SetReceiveTimeout(null);
            if (e is EntryRemoved)
            {
                Unlist(replyTo);
                return;
            }
            if (e is TickFired { Manual: true })
                _deliveryWaiters.Add(replyTo);
            else if (durableListing)
                List(durable: true, replyTo, _state.ToView());
            Plan();
        });
    }

    /// <summary>Every journaled event: folded into the state, published, and counted towards the next snapshot.</summary>
    private void Applied(IBeatEvent e)
    {
        var before = _state;
        _state = _state.Apply(e);
        switch (e)
        {
            case TickFired fired:
                Publish(fired.Manual ? "run-now" : "fired", fired.Tick, fired.TaskId, 1, fired.Timestamp);
                _lastRunFinished = false;
                Send(_state.LastRun!);
                break;
            case TicksMissed missed:
                Publish("missed", missed.Last, null, missed.Count, missed.Timestamp);
                break;
            case TicksSkipped skipped:
                Publish("skipped", skipped.Last, null, skipped.Count, skipped.Timestamp);
                break;
            case TickQueued queued:
                Publish("queued", queued.Tick, null, 1, queued.Timestamp);
                break;
            case EntryDefined when before.Definition?.Overlap != _state.Definition!.Overlap:
                _lastRunFinished = null;
                break;
        }
        if (++_eventsSinceSnapshot >= _settings.SnapshotEvery)
        {
            _eventsSinceSnapshot = 0;
            SaveSnapshot(_state);
        }
    }

    private void Publish(string outcome, DateTimeOffset tick, string? taskId, long count, DateTimeOffset at) =>
        _events?.Tell(new Publish(BeatTopics.Events, new BeatTick(_state.Name, _state.Definition?.Task ?? "", outcome, tick, taskId, count,
            Math.Max(0, (at - tick).TotalSeconds), at)));

    /// <summary>
    /// What happens next: nothing while a fired task awaits its acknowledgement (or the last run's state is still being
    /// asked); else the ticks that are due are decided; else a timer for the next tick, or sleep when it is far.
    /// </summary>
    private void Plan()
    {
        Timers.Cancel(TickDue.Instance);
        if (!_state.IsDefined || _undelivered is not null || !_started)
            return;
        var entry = _state.Definition!;
        if (entry.Overlap != OverlapPolicy.Allow && _state.LastRun is not null && _lastRunFinished is null && !_state.Paused)
        {
            AskLastRun();
            return;
        }
        var decision = _state.DecideDue(Now, _lastRunFinished == false, _settings.MisfireThreshold);
        if (decision.Events.Count > 0)
        {
            var count = 0;
            PersistAll(decision.Events, e =>
            {
                Applied(e);
                if (++count == decision.Events.Count)
                    Plan();
            });
            return;
        }
        var next = _state.NextTick;
        // A queued tick waits for the previous run's answer, which only a live entry can receive.
        var mustStay = _deliveryWaiters.Count > 0 || _listingWaiters.Count > 0 || (_state.Queued is not null && _lastRunFinished == false);
        if (!mustStay && (next is null || next.Value - Now > _settings.SleepBeyond))
        {
            Sleep(next - _settings.WakeAhead);
            return;
        }
        if (next is { } due)
            Timers.StartSingleTimer(TickDue.Instance, TickDue.Instance, Max(due - Now, TimeSpan.Zero));
        if (_sleepCorrelation != 0)
        {
            // It was about to sleep, and something woke it: the directory must not go on believing it sleeps.
            _sleepCorrelation = 0;
            List(durable: true, replyTo: null, answer: null);
        }
        else
            Report();
    }

    private void AskLastRun()
    {
        if (_askingLastRun)
            return;
        _askingLastRun = true;
        _tasks.Tell(new GetTaskResult(_state.LastRun!.TaskId));
        StartResending();
    }

    private void Send(RunRecord run)
    {
        var entry = _state.Definition!;
        _undelivered = new SubmitTask(run.TaskId, entry.Task, entry.Args, entry.Kwargs, _routes.QueueFor(entry.Task, entry.Queue),
            DueAt: null, ExpiresAt: entry.Expires is { } seconds ? run.FiredAt.AddSeconds(seconds) : null);
        _tasks.Tell(_undelivered);
        StartResending();
    }

    private void OnTaskResult(TaskResult result)
    {
        if (_undelivered?.TaskId == result.TaskId)
        {
            _undelivered = null;
            foreach (var waiter in _deliveryWaiters)
                waiter.Tell(_state.ToView());
            _deliveryWaiters.Clear();
        }
        if (_state.LastRun?.TaskId == result.TaskId)
        {
            _askingLastRun = false;
            _lastRunFinished = result.Ready;
            // With an overlap policy the entry must hear when the run ends; the task entity answers once it is ready.
            if (!result.Ready && _state.Definition?.Overlap is not null and not OverlapPolicy.Allow)
                _tasks.Tell(new AwaitTaskResult(result.TaskId));
        }
        Plan();
    }

    /// <summary>Whatever is unanswered is asked again, with the same ids: the task, the last run's state, the listing.</summary>
    private void ResendUnanswered()
    {
        var any = false;
        if (_undelivered is not null)
        {
            _tasks.Tell(_undelivered);
            any = true;
        }
        if (_state.LastRun is { } last && (_askingLastRun || (_lastRunFinished == false && _state.Queued is not null)))
        {
            _tasks.Tell(_askingLastRun ? new GetTaskResult(last.TaskId) : new AwaitTaskResult(last.TaskId));
            any = true;
        }
        if (_listingToResend is not null)
        {
            _directory.Tell(_listingToResend);
            any = true;
        }
        if (!any)
            Timers.Cancel(Resend.Instance);
    }

    private void StartResending()
    {
        if (!Timers.IsTimerActive(Resend.Instance))
            Timers.StartPeriodicTimer(Resend.Instance, Resend.Instance, _settings.ResendInterval);
    }

    /// <summary>Tells the directory where the entry stands; a durable listing is resent until acknowledged.</summary>
    private void List(bool durable, IActorRef? replyTo, object? answer, DateTimeOffset? wakeAt = null, bool asleep = false)
    {
        var listing = new ListEntry(_partition, _state.ToView(), wakeAt, asleep, ++_correlation, Ack: durable);
        _directory.Tell(listing);
        _lastReported = listing.View;
        if (!durable)
            return;
        _listingAwaited = listing.Correlation;
        _listingToResend = listing;
        if (replyTo is not null)
            _listingWaiters.Add((replyTo, answer!));
        StartResending();
    }

    private void Unlist(IActorRef replyTo)
    {
        var unlist = new UnlistEntry(_partition, _state.Name, ++_correlation);
        _directory.Tell(unlist);
        _listingAwaited = unlist.Correlation;
        _listingToResend = null;
        _listingWaiters.Add((replyTo, _state.ToView()));
        // An unlisting is resent by sending it again from here: the directory answers every copy.
        Timers.StartPeriodicTimer(ResendUnlist.Instance, unlist, _settings.ResendInterval);
        Become(Removing);
    }

    /// <summary>Unlisting: the entry leaves once the directory has forgotten it and a run fired just before is delivered.</summary>
    private void Removing()
    {
        var unlisted = false;
        void LeaveWhenDone()
        {
            if (!unlisted || _undelivered is not null)
                return;
            Passivate();
            // Whatever arrived meanwhile is answered as by any removed entry (a define creates it again).
            Become(Running);
            Stash.UnstashAll();
        }
        Command<UnlistEntry>(unlist => _directory.Tell(unlist));
        Command<EntryListed>(listed =>
        {
            if (listed.Correlation != _listingAwaited)
                return;
            Timers.Cancel(ResendUnlist.Instance);
            foreach (var (waiter, answer) in _listingWaiters)
                waiter.Tell(answer);
            _listingWaiters.Clear();
            unlisted = true;
            LeaveWhenDone();
        });
        Command<TaskResult>(result =>
        {
            if (_undelivered?.TaskId == result.TaskId)
                _undelivered = null;
            LeaveWhenDone();
        });
        Command<Resend>(_ => ResendUnanswered());
        Command<StopEntity>(_ => Context.Stop(Self));
        CommandAny(_ => Stash.Stash());
    }

    /// <summary>The latest progress goes to the directory in memory only (nothing durable changed), and only when it changed.</summary>
    private void Report()
    {
        var view = _state.ToView();
        if (_lastReported is { } last && last == view)
            return;
        List(durable: false, replyTo: null, answer: null);
    }

    /// <summary>Sleeping needs the directory to have journaled the wake-up time first; then the entry passivates.</summary>
    private void Sleep(DateTimeOffset? wakeAt)
    {
        if (_sleepCorrelation != 0 && _listingToResend is { Asleep: true } pending && pending.WakeAt == wakeAt)
            return;
        List(durable: true, replyTo: null, answer: null, wakeAt, asleep: true);
        _sleepCorrelation = _correlation;
    }

    private void OnListed(EntryListed listed)
    {
        if (listed.Correlation != _listingAwaited)
            return;
        _listingToResend = null;
        var answered = _listingWaiters.Count > 0;
        foreach (var (waiter, answer) in _listingWaiters)
            waiter.Tell(answer);
        _listingWaiters.Clear();
        if (listed.Correlation == _sleepCorrelation && _undelivered is null)
            Passivate();
        else if (answered)
            // Kept awake only to answer: now it may sleep.
            Plan();
    }

    private void Passivate()
    {
        Context.SetReceiveTimeout(null);
        Timers.CancelAll();
        Context.Parent.Tell(new Passivate(StopEntity.Instance));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private sealed class TickDue
    {
        public static readonly TickDue Instance = new();
    }

    private sealed class Resend
    {
        public static readonly Resend Instance = new();
    }

    private sealed class ResendUnlist
    {
        public static readonly ResendUnlist Instance = new();
    }
}

/// <summary>The DistributedPubSub topic of <see cref="BeatTick"/> events.</summary>
public static class BeatTopics
{
    public const string Events = "jobs-beat-events";
}

/// <summary>The event type of a <see cref="BeatTick"/> on the live stream.</summary>
public static class BeatEventTypes
{
    public const string BeatTick = "beat-tick";
}
