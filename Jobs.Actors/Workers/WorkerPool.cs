using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Jobs.Actors.Queues;
using Jobs.Actors.Serialization;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Workers;

/// <summary>
/// A node's worker (Celery's worker process): pulls tasks from the queues it consumes, never more than
/// concurrency + prefetch at a time, runs their bodies on the <see cref="BodyScheduler"/>, and reports each
/// attempt to its task entity. A body that throws, a task that cannot start, a token callback that throws: each is
/// that task's outcome, never a failure of this actor. Reports are resent until acknowledged, and every
/// <see cref="WorkerSettings.ReconcileInterval"/> each queue is told the leases held (see <see cref="SyncLeases"/>).
/// </summary>
public sealed class WorkerPool : ReceiveActor, IWithTimers
{
    private readonly TaskRegistry _registry;
    private readonly WorkerSettings _settings;
    private readonly IActorRef _tasks;
    private readonly IActorRef _queues;
    private readonly BodyScheduler _scheduler;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, QueueLink> _links = new();
    private readonly LinkedList<TaskEnvelope> _buffer = new();
    private readonly Dictionary<LeaseId, RunningAttempt> _running = new();
    private readonly Dictionary<LeaseId, UnacknowledgedReport> _unacknowledged = new();
    private readonly Random _random = new();
    private readonly WorkerCounters _counters = new();
    private readonly RateLimits _rateLimits = new();
    private readonly Dictionary<string, RateLimit?> _rateLimitOverrides = new();
    private readonly Dictionary<string, (TimeSpan? Soft, TimeSpan? Hard)> _timeLimitOverrides = new();
    private int _concurrency;
    private long _runs;
    private IActorRef? _drainedReplyTo;
    private bool _draining;
    private bool _drainTimedOut;

    /// <summary>Who confirms, after a pause, that this node is still a member; null: a pool that never checks.</summary>
    private readonly IMembership? _membership;

    private readonly Func<TimeSpan> _clock;

    /// <summary>When the pause check last ran, by <see cref="_clock"/>: a check much later than due means the process was paused.</summary>
    private TimeSpan _lastPauseCheck;

    /// <summary>Set while a pause is unconfirmed: no body starts until enough witnesses saw this node Up.</summary>
    private PauseConfirmation? _confirming;

    /// <param name="membership">who confirms after a pause that this node is still Up (null: no pause check).</param>
    /// <param name="clock">a monotonic clock (a test's own, to simulate a pause).</param>
    public WorkerPool(TaskRegistry registry, WorkerSettings settings, IActorRef tasks, IActorRef queues, BodyScheduler scheduler,
        IMembership? membership = null, Func<TimeSpan>? clock = null)
    {
        _registry = registry;
        _membership = membership;
        _clock = clock ?? MonotonicClock;
        _settings = settings;
        _tasks = tasks;
        _queues = queues;
        _scheduler = scheduler;
        _concurrency = settings.Concurrency;
        foreach (var queue in settings.Queues)
            _links[queue] = new QueueLink(queue);

        Receive<ConsumerRegistered>(OnRegistered);
        Receive<RunTasks>(OnRunTasks);
        Receive<LeasesSynced>(OnLeasesSynced);
        Receive<BodyFinished>(OnBodyFinished);
        Receive<AttemptRecorded>(OnAttemptRecorded);
        Receive<CheckAttempt>(OnCheckAttempt);
        Receive<Reconcile>(_ => OnReconcile());
        Receive<Terminated>(OnTerminated);
        Receive<AskAgain>(again => { if (_links.TryGetValue(again.Queue, out var link)) AskAgainFor(link); });
        Receive<GetWorkerStats>(_ => Sender.Tell(Stats()));
        Receive<Drain>(_ => StartDraining());
        Receive<CancelAttempt>(Cancel);
        Receive<SoftLimitReached>(OnSoftLimit);
        Receive<HardLimitReached>(OnHardLimit);
        Receive<StartedReportDue>(OnStartedReportDue);
        Receive<RateLimitPassed>(_ => StartWhatFits());
        Receive<AbandonRunning>(_ => { _drainTimedOut = true; });
        Receive<SetRateLimit>(OnSetRateLimit);
        Receive<SetTimeLimit>(OnSetTimeLimit);
        Receive<ResizePool>(OnResizePool);
        Receive<AddConsumer>(OnAddConsumer);
        Receive<CancelConsumer>(OnCancelConsumer);
        Receive<ShutdownWorker>(_ => OnShutdown());
        Receive<PauseCheck>(_ => CheckForPause());
        Receive<AskWitnessesAgain>(_ => AskWitnesses());
        Receive<MemberStatusSeen>(OnMemberStatusSeen);
    }

    private static readonly Stopwatch Monotonic = Stopwatch.StartNew();

    private static TimeSpan MonotonicClock() => Monotonic.Elapsed;

    public static Props Props(TaskRegistry registry, WorkerSettings settings, IActorRef tasks, IActorRef queues, BodyScheduler scheduler,
        IMembership? membership = null, Func<TimeSpan>? clock = null) =>
        Akka.Actor.Props.Create(() => new WorkerPool(registry, settings, tasks, queues, scheduler, membership, clock));

    /// <summary>
    /// The pool under a back-off supervisor, at the path control commands use (<c>/user/worker</c>, which forwards to
    /// its child). Supervision is stop and re-create, never restart: a restart would keep the ActorRef, so neither its
    /// queues (which give its leases to others) nor its tasks' entities (which run their attempts again) would see
    /// it die, and everything it held would be orphaned.
    /// </summary>
    public static Props SupervisedProps(TaskRegistry registry, WorkerSettings settings, IActorRef tasks, IActorRef queues, BodyScheduler scheduler,
        IMembership? membership = null) =>
        BackoffSupervisor.Props(Backoff.OnFailure(Props(registry, settings, tasks, queues, scheduler, membership), "pool",
                TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30), 0.2, maxNrOfRetries: -1)
            // Every failure, a failed start and Kill included, re-creates the pool (backing off) rather than leaving no worker.
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart)));

    public ITimerScheduler Timers { get; set; } = null!;

    private int Capacity => _concurrency + _settings.Prefetch;

    /// <summary>Each queue consumed may hold an equal share of the capacity, and at least one task.</summary>
    private int Share => Math.Max(1, Capacity / Math.Max(1, _links.Values.Count(l => l.Consuming)));

    /// <summary>
    /// Slots that would start a task the moment it arrives: a partition fills these first (its own node's before other
    /// nodes'), so a task given to this worker as prefetch while another node's slots are idle goes there instead.
    /// </summary>
    private int IdleSlots => _draining ? 0 : Math.Max(0, _concurrency - _running.Count - _buffer.Count);

    protected override void PreStart()
    {
        foreach (var link in _links.Values)
            RequestMore(link);
        Timers.StartPeriodicTimer(Reconcile.Instance, Reconcile.Instance, _settings.ReconcileInterval);
        if (_membership is not null)
        {
            _lastPauseCheck = _clock();
            Timers.StartPeriodicTimer(PauseCheck.Instance, PauseCheck.Instance, _settings.PauseCheckInterval);
        }
    }

    // Finding 7 of the chaos harness: a worker frozen long enough to be downed wakes with its queue's backlog in its
    // mailbox, and would run it before gossip tells it that its shards live elsewhere now. A pause check that runs much
    // later than due (or is overdue when a body is about to start) means the process stood still: until the other
    // members confirm this incarnation is still Up, no body starts; if one saw it downed or removed, none ever does
    // (the node is shut down by the cluster soon).

    private bool PauseOverdue() => _clock() - _lastPauseCheck > _settings.PauseCheckInterval + _settings.PauseThreshold;

    private void CheckForPause()
    {
        if (PauseOverdue())
            BeginConfirming();
        _lastPauseCheck = _clock();
    }

    private void BeginConfirming()
    {
        var paused = _clock() - _lastPauseCheck;
        _lastPauseCheck = _clock();
        if (_confirming is not null || _membership is null)
            return;
        var witnesses = _membership.Witnesses();
        // Alone (a standalone node, or every other member gone): nobody can have downed it.
        if (witnesses.Count == 0)
            return;
        _confirming = new PauseConfirmation(witnesses);
        _log.Warning("Worker {0}: paused for {1:0.0} s (a check due every {2} ms ran late); starting no task until {3} of {4} other member(s) confirm this node is still Up",
            _settings.Hostname, paused.TotalSeconds, _settings.PauseCheckInterval.TotalMilliseconds, _confirming.Needed, witnesses.Count);
        AskWitnesses();
        Timers.StartPeriodicTimer(AskWitnessesAgain.Instance, AskWitnessesAgain.Instance, _settings.PauseConfirmInterval);
    }

    private void AskWitnesses()
    {
        if (_confirming is null || _confirming.Removed)
        {
            Timers.Cancel(AskWitnessesAgain.Instance);
            return;
        }
        var self = _membership!.Self;
        foreach (var witness in _confirming.Witnesses)
            witness.Tell(self, Self);
    }

    private void OnMemberStatusSeen(MemberStatusSeen seen)
    {
        var self = _membership?.Self;
        if (_confirming is null || _confirming.Removed || self is null || seen.Address != self.Address || seen.Uid != self.Uid)
            return;
        if (seen.Status is not ("Up" or "WeaklyUp"))
        {
            _confirming.Removed = true;
            Timers.Cancel(AskWitnessesAgain.Instance);
            _log.Error("Worker {0}: after its pause, {1} sees this node {2}: it starts no more task ({3} wait(s) in its buffer, for their entities to run elsewhere)",
                _settings.Hostname, Sender.Path.Address, seen.Status, _buffer.Count);
            return;
        }
        _confirming.Up.Add(Sender);
        if (_confirming.Up.Count < _confirming.Needed)
            return;
        _log.Info("Worker {0}: {1} member(s) confirmed this node is Up after its pause; starting tasks again", _settings.Hostname, _confirming.Up.Count);
        _confirming = null;
        Timers.Cancel(AskWitnessesAgain.Instance);
        _lastPauseCheck = _clock();
        StartWhatFits();
    }

    private void OnRegistered(ConsumerRegistered registered)
    {
        if (!_links.TryGetValue(registered.Queue, out var link))
            return;
        if (!Sender.Equals(link.Queue))
            link.LastBatch = 0;
        link.Queue = Sender;
        Context.Watch(Sender);
        Timers.Cancel(registered.Queue);
    }

    private void OnRunTasks(RunTasks run)
    {
        if (!_links.TryGetValue(run.Queue, out var link))
        {
            // Not a queue of ours: straight back, so the queue neither waits on us nor counts us as a consumer with demand.
            _queues.Tell(new WithdrawDemand(run.Queue, run.Tasks.Select(LeaseOf).ToArray()));
            return;
        }
        link.LastBatch = Math.Max(link.LastBatch, run.Batch);
        if (!link.Consuming || _draining)
        {
            // Leased while the consumer was being cancelled or the worker drains: straight back to the queue.
            link.Outstanding = 0;
            _queues.Tell(new WithdrawDemand(link.Name, run.Tasks.Select(LeaseOf).ToArray()));
            return;
        }
        foreach (var task in run.Tasks)
        {
            link.Outstanding = Math.Max(0, link.Outstanding - 1);
            link.Held++;
            _buffer.AddLast(task);
        }
        StartWhatFits();
    }

    /// <summary>
    /// Starts buffered tasks while slots are free. A task whose type is over its rate limit stays in the buffer
    /// (it is never dropped) and a timer wakes the worker when its next slot of the rate opens.
    /// </summary>
    private void StartWhatFits()
    {
        if (_membership is not null && _confirming is null && _buffer.First is not null && PauseOverdue())
            BeginConfirming();
        if (_confirming is not null)
            return;
        var node = _buffer.First;
        TimeSpan? wake = null;
        while (!_draining && _running.Count < _concurrency && node is not null)
        {
            var next = node.Next;
            var task = node.Value;
            var limit = RateLimitOf(task.Name);
            var wait = limit is null ? TimeSpan.Zero : _rateLimits.TryTake(task.Name, limit, DateTimeOffset.UtcNow);
            if (wait == TimeSpan.Zero)
            {
                _buffer.Remove(node);
                Start(task);
            }
            else
            {
                wake = wake is null || wait < wake ? wait : wake;
            }
            node = next;
        }
        if (wake is { } delay)
            Timers.StartSingleTimer(RateLimitPassed.Instance, RateLimitPassed.Instance, delay);
    }

    private RateLimit? RateLimitOf(string? name) =>
        name is null ? null
        : _rateLimitOverrides.TryGetValue(name, out var set) ? set
        : _registry.TryGet(name, out var definition) ? definition.RateLimit : null;

    /// <summary>Whatever goes wrong starting one task is that task's failure: the worker and what it holds stay.</summary>
    private void Start(TaskEnvelope task)
    {
        var lease = LeaseOf(task);
        if (_running.ContainsKey(lease))
        {
            // Leased to us twice (a queue hand-off race): it runs once, and the second lease is handed back at once.
            Release(task);
            return;
        }
        var startedAt = DateTimeOffset.UtcNow;
        try
        {
            StartAttempt(task, lease, startedAt);
        }
        catch (Exception e)
        {
            _log.Error(e, "Task {0}[{1}] could not be started", task.Name, task.TaskId);
            if (!_running.ContainsKey(lease))
                Report(task, startedAt, 0, AttemptOutcome.Failed, error: TaskError.From(e));
        }
    }

    private void StartAttempt(TaskEnvelope task, LeaseId lease, DateTimeOffset startedAt)
    {
        if (task.ExpiresAt is { } expires && expires <= startedAt)
        {
            Report(task, startedAt, 0, AttemptOutcome.Expired);
            return;
        }
        Func<TaskContext, Task<JsonElement>> body;
        RetryPolicy retry;
        var synchronous = false;
        TimeSpan? softLimit = null, hardLimit = null;
        if (MapTaskBody.Handles(task.Name))
        {
            body = MapTaskBody.For(_registry, task);
            retry = MapTaskBody.NoRetries;
        }
        else if (_registry.TryGet(task.Name, out var definition))
        {
            BoundArguments arguments;
            try
            {
                arguments = definition.Bind(task.Args, task.Kwargs);
            }
            catch (TaskArgumentException e)
            {
                Report(task, startedAt, 0, AttemptOutcome.Failed, error: TaskError.From(e));
                return;
            }
            body = context => definition.InvokeAsync(arguments, context);
            retry = definition.Retry;
            synchronous = !definition.IsAsync;
            (softLimit, hardLimit) = _timeLimitOverrides.TryGetValue(task.Name, out var limits)
                ? limits
                : (definition.SoftTimeLimit, definition.TimeLimit);
        }
        else
        {
            Report(task, startedAt, 0, AttemptOutcome.Failed, error: new TaskError("NotRegistered",
                $"Received unregistered task of type '{task.Name}'", $"NotRegistered: '{task.Name}' is not registered on {_settings.Hostname}"));
            return;
        }

        var cancellation = new CancellationTokenSource();
        var context = new TaskContext(task.TaskId, task.Name, task.Retries, retry.MaxRetries, task.Args,
            task.Kwargs, task.Queue, _settings.Hostname, new TaskLogger(_log, task.Name, task.TaskId), cancellation.Token);
        Task<JsonElement> running;
        try
        {
            running = _scheduler.Run(() => body(context), synchronous);
        }
        catch
        {
            cancellation.Dispose();
            throw;
        }
        var run = ++_runs;
        _running[lease] = new RunningAttempt(task, run, retry, startedAt, Stopwatch.GetTimestamp(), cancellation, running, softLimit);
        // The limits are this actor's timers, not CancelAfter: token callbacks then never run on a timer thread unguarded.
        if (softLimit is { } soft)
            Timers.StartSingleTimer(SoftLimitKey(run), new SoftLimitReached(lease, run), soft);
        if (hardLimit is { } hard)
            Timers.StartSingleTimer(HardLimitKey(run), new HardLimitReached(lease, run, hard), hard);
        if (_settings.StartedReportDelay > TimeSpan.Zero)
            Timers.StartSingleTimer(StartedReportKey(run), new StartedReportDue(lease, run), _settings.StartedReportDelay);
        else
            ReportStarted(lease, _running[lease]);
        running.PipeTo(Self, success: result => new BodyFinished(lease, run, result, null), failure: e => new BodyFinished(lease, run, null, e));
    }

    private void OnBodyFinished(BodyFinished finished)
    {
        // Not ours any more (abandoned, or an older run): its clean-up was arranged when it was let go.
        if (!_running.TryGetValue(finished.Lease, out var attempt) || attempt.Run != finished.Run)
            return;
        _running.Remove(finished.Lease);
        CancelLimits(attempt);
        var softLimitHit = attempt.SoftLimitHit && !attempt.Revoked;
        DisposeOnceSettled(attempt);
        if (_drainTimedOut)
        {
            // Past the drain timeout the outcome of a cancelled body means nothing: its entity runs it again.
            ReplyIfDrained();
            return;
        }
        var runtime = Stopwatch.GetElapsedTime(attempt.Clock).TotalSeconds;
        void Finish(AttemptOutcome outcome, JsonElement? result = null, TaskError? error = null, double countdown = 0) =>
            Report(attempt.Task, attempt.StartedAt, runtime, outcome, result, error, countdown, startUnreported: !attempt.StartReported);
        if (finished.Error is null)
        {
            if (PayloadSize.Exceeds(_settings.MaxResultBytes, out var size, finished.Result ?? default))
                Finish(AttemptOutcome.Failed, error: new TaskError("ResultTooLarge",
                    $"the result of {attempt.Task.Name} is {size} bytes as sent; the limit is {_settings.MaxResultBytes} (jobs.tasks.max-result-size)",
                    $"ResultTooLarge: a result of {size} bytes was not sent from {_settings.Hostname}"));
            else
                Finish(AttemptOutcome.Succeeded, result: finished.Result);
        }
        else
        {
            // The soft limit cancelled the body's token and the body gave up on it: that is the limit's exception.
            var error = softLimitHit && finished.Error is OperationCanceledException
                ? new SoftTimeLimitExceededException(attempt.Task.Name, attempt.SoftLimit!.Value, finished.Error)
                : finished.Error;
            switch (attempt.Retry.Decide(attempt.Task.Name, error, attempt.Task.Retries, _random))
            {
                case RetryDecision.Retry retry:
                    Finish(AttemptOutcome.Retry, error: TaskError.From(retry.Cause),
                        countdown: retry.Countdown.TotalSeconds);
                    break;
                case RetryDecision.Fail fail:
                    Finish(AttemptOutcome.Failed, error: TaskError.From(fail.Cause));
                    break;
            }
        }
        StartWhatFits();
        ReplyIfDrained();
    }

    /// <summary>
    /// A revoked task: dropped if it waits here, its token cancelled if it runs; with terminate its slot is freed
    /// at once (the body is left to end on its own thread, so the scheduler gets a thread in its place).
    /// </summary>
    private void Cancel(CancelAttempt cancel)
    {
        foreach (var buffered in _buffer.Where(t => t.TaskId == cancel.TaskId).ToArray())
        {
            _buffer.Remove(buffered);
            Release(buffered);
        }
        foreach (var (lease, attempt) in _running.Where(r => r.Key.TaskId == cancel.TaskId).ToArray())
        {
            var revoked = RequestCancellation(attempt with { Revoked = true });
            _running[lease] = revoked;
            if (cancel.Terminate)
                Abandon(revoked);
        }
    }

    /// <summary>The soft time limit: the body's token is cancelled, and the body may catch it and clean up.</summary>
    private void OnSoftLimit(SoftLimitReached limit)
    {
        if (_running.TryGetValue(limit.Lease, out var attempt) && attempt.Run == limit.Run)
            _running[limit.Lease] = RequestCancellation(attempt with { SoftLimitHit = true });
    }

    /// <summary>The hard time limit: the attempt fails with TimeLimitExceeded and its slot is freed.</summary>
    private void OnHardLimit(HardLimitReached limit)
    {
        if (!_running.TryGetValue(limit.Lease, out var attempt) || attempt.Run != limit.Run)
            return;
        attempt = RequestCancellation(attempt);
        var error = new TaskError("TimeLimitExceeded", $"{attempt.Task.Name} exceeded its time limit of {limit.Limit.TotalSeconds:0.###} s",
            $"TimeLimitExceeded: the attempt was ended after {limit.Limit.TotalSeconds:0.###} s on {_settings.Hostname}");
        _counters.Count(AttemptOutcome.Failed);
        SendReport(attempt.Task.Name, new CompleteAttempt(attempt.Task.TaskId, attempt.Task.Retries, AttemptOutcome.Failed, _settings.Hostname,
            attempt.StartedAt, limit.Limit.TotalSeconds, Error: error, StartUnreported: !attempt.StartReported));
        Abandon(attempt);
    }

    /// <summary>
    /// Cancels the body's token off this thread: <c>Cancel()</c> runs the body's token callbacks synchronously, and one
    /// that throws or blocks must not fail or stall the worker. Its exceptions are logged as the body's.
    /// </summary>
    private RunningAttempt RequestCancellation(RunningAttempt attempt)
    {
        if (attempt.Cancelling is not null)
            return attempt;
        Task cancelling;
        try
        {
            cancelling = attempt.Cancellation.CancelAsync();
        }
        catch (Exception e)
        {
            cancelling = Task.FromException(e);
        }
        var log = _log;
        var task = attempt.Task;
        cancelling.ContinueWith(t => log.Warning("Task {0}[{1}]: a cancellation callback of its body threw: {2}", task.Name, task.TaskId, t.Exception?.GetBaseException().Message),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return attempt with { Cancelling = cancelling };
    }

    /// <summary>
    /// Forgets a running attempt without waiting for its body. The scheduler lends a thread in its place while the
    /// body runs on, and takes it back when it ends; its token source is disposed then.
    /// </summary>
    private void Abandon(RunningAttempt attempt)
    {
        var lease = LeaseOf(attempt.Task);
        _running.Remove(lease);
        CancelLimits(attempt);
        _scheduler.LendWhile(attempt.Body);
        DisposeOnceSettled(attempt);
        Release(attempt.Task);
        StartWhatFits();
        ReplyIfDrained();
    }

    private void CancelLimits(RunningAttempt attempt)
    {
        Timers.Cancel(SoftLimitKey(attempt.Run));
        Timers.Cancel(HardLimitKey(attempt.Run));
        if (!attempt.StartReported)
            Timers.Cancel(StartedReportKey(attempt.Run));
    }

    /// <summary>The body is still running after the report delay: its entity learns it is STARTED (and watches this worker).</summary>
    private void OnStartedReportDue(StartedReportDue due)
    {
        if (_running.TryGetValue(due.Lease, out var attempt) && attempt.Run == due.Run && !attempt.StartReported)
            ReportStarted(due.Lease, attempt);
    }

    private void ReportStarted(LeaseId lease, RunningAttempt attempt)
    {
        _running[lease] = attempt with { StartReported = true };
        _tasks.Tell(new MarkTaskStarted(attempt.Task.TaskId, attempt.Task.Retries, _settings.Hostname, Self, attempt.StartedAt));
    }

    /// <summary>The token source goes once its body and any cancellation in flight are done with it.</summary>
    private static void DisposeOnceSettled(RunningAttempt attempt)
    {
        var cancellation = attempt.Cancellation;
        Task.WhenAll(attempt.Body, attempt.Cancelling ?? Task.CompletedTask)
            .ContinueWith(settled =>
            {
                _ = settled.Exception;
                cancellation.Dispose();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Hands a task's lease back to its queue and asks for another.</summary>
    private void Release(TaskEnvelope task)
    {
        if (!_links.TryGetValue(task.Queue, out var link))
            return;
        link.Held = Math.Max(0, link.Held - 1);
        link.Finished.Add(LeaseOf(task));
        RequestMore(link);
    }

    private static string SoftLimitKey(long run) => "soft:" + run;

    private static string StartedReportKey(long run) => "started:" + run;

    private static string HardLimitKey(long run) => "hard:" + run;

    private static LeaseId LeaseOf(TaskEnvelope task) => new(task.TaskId, task.Retries);

    /// <summary>
    /// Graceful shutdown: take no more work, give back what has not started, and answer <see cref="Drained"/> once
    /// the running bodies are done and their reports journaled, so the node leaves only after its results are kept.
    /// </summary>
    private void StartDraining()
    {
        _drainedReplyTo = Sender;
        if (!_draining)
        {
            _draining = true;
            foreach (var link in _links.Values)
            {
                var returned = _buffer.Where(t => t.Queue == link.Name).Select(LeaseOf).ToArray();
                _queues.Tell(new WithdrawDemand(link.Name, returned));
                link.Held = Math.Max(0, link.Held - returned.Length);
                link.Outstanding = 0;
                Timers.Cancel(link.Name);
            }
            _buffer.Clear();
            _log.Info("Draining: waiting for {0} running task(s)", _running.Count);
        }
        ReplyIfDrained();
    }

    private void ReplyIfDrained()
    {
        if (_drainedReplyTo is null || _running.Count > 0 || _unacknowledged.Count > 0 && !_drainTimedOut)
            return;
        _drainedReplyTo.Tell(Drained.Instance);
        _drainedReplyTo = null;
    }

    private void Report(TaskEnvelope task, DateTimeOffset startedAt, double runtime, AttemptOutcome outcome,
        JsonElement? result = null, TaskError? error = null, double countdown = 0, bool startUnreported = false)
    {
        _counters.Count(outcome);
        SendReport(task.Name, new CompleteAttempt(task.TaskId, task.Retries, outcome, _settings.Hostname, startedAt, runtime,
            result, error is null ? null : Bounded(error), countdown, StartUnreported: startUnreported));
        if (outcome == AttemptOutcome.Failed && error is not null)
            _log.Error("Task {0}[{1}] raised unexpected: {2}: {3}", task.Name, task.TaskId, error.Type, error.Message);
        Release(task);
    }

    /// <summary>Kept until the entity acknowledges it, and sent again every reconcile interval until then.</summary>
    private void SendReport(string name, CompleteAttempt report)
    {
        // The task's own retention ([JobsTask(ResultExpires, IgnoreResult)]) is known here, where its code is.
        if (_registry.TryGet(name, out var definition) && (definition.ResultExpires is not null || definition.IgnoreResult))
            report = report with { ResultExpires = definition.ResultExpires, IgnoreResult = definition.IgnoreResult ? true : null };
        _unacknowledged[new LeaseId(report.TaskId, report.Retries)] = new UnacknowledgedReport(report, Stopwatch.GetTimestamp());
        _tasks.Tell(report);
    }

    private void OnAttemptRecorded(AttemptRecorded recorded)
    {
        if (_unacknowledged.Remove(new LeaseId(recorded.TaskId, recorded.Retries)))
            ReplyIfDrained();
    }

    /// <summary>An entity's watchdog asks about its started attempt; a report it has not acknowledged goes again now.</summary>
    private void OnCheckAttempt(CheckAttempt check)
    {
        var lease = new LeaseId(check.TaskId, check.Retries);
        var running = _running.ContainsKey(lease);
        if (_unacknowledged.TryGetValue(lease, out var unacknowledged))
        {
            _tasks.Tell(unacknowledged.Report);
            running = true;
        }
        Sender.Tell(new AttemptStatus(check.TaskId, check.Retries, running));
    }

    /// <summary>Every reconcile interval: reports not yet acknowledged go again, and every queue hears what is held.</summary>
    private void OnReconcile()
    {
        foreach (var (lease, unacknowledged) in _unacknowledged.ToArray())
        {
            if (Stopwatch.GetElapsedTime(unacknowledged.SentAt) < _settings.ReconcileInterval)
                continue;
            _tasks.Tell(unacknowledged.Report);
            _unacknowledged[lease] = unacknowledged with { SentAt = Stopwatch.GetTimestamp() };
        }
        foreach (var link in _links.Values)
            Sync(link);
    }

    /// <summary>Absolute credit and the exact leases held, so a lost request, batch or hand-back is repaired.</summary>
    private void Sync(QueueLink link)
    {
        var held = _buffer.Where(t => t.Queue == link.Name).Concat(_running.Values.Select(r => r.Task).Where(t => t.Queue == link.Name))
            .Select(LeaseOf).ToArray();
        if (!link.Consuming && held.Length == 0 && link.Queue is null)
            return;
        link.Held = held.Length;
        var credit = _draining || !link.Consuming ? 0 : Math.Max(0, Share - held.Length);
        _queues.Tell(new SyncLeases(link.Name, credit, held, link.LastBatch, Math.Min(credit, IdleSlots)));
        link.Finished.Clear();
        link.Outstanding = credit;
    }

    /// <summary>A batch the queue sent before this answer has not arrived, so it never will: settle past it and sync again.</summary>
    private void OnLeasesSynced(LeasesSynced synced)
    {
        if (!_links.TryGetValue(synced.Queue, out var link))
            return;
        if (link.Queue is null)
        {
            // Its ConsumerRegistered was lost: the answer is as good, and stops the asking again.
            link.Queue = Sender;
            Context.Watch(Sender);
            Timers.Cancel(link.Name);
        }
        if (synced.LastBatch <= link.LastBatch)
            return;
        _log.Warning("Queue {0}: batch(es) {1} to {2} never arrived; their tasks are queued again", link.Name, link.LastBatch + 1, synced.LastBatch);
        link.LastBatch = synced.LastBatch;
        Sync(link);
    }

    private void RequestMore(QueueLink link)
    {
        var want = _draining || !link.Consuming ? 0 : Math.Max(0, Share - link.Outstanding - link.Held);
        if (want == 0 && link.Finished.Count == 0)
            return;
        _queues.Tell(new RequestTasks(link.Name, want, link.Finished.ToArray(), IdleSlots));
        link.Finished.Clear();
        link.Outstanding += want;
        if (link.Queue is null && !_draining && link.Consuming)
            Timers.StartSingleTimer(link.Name, new AskAgain(link.Name), TimeSpan.FromSeconds(2));
    }

    /// <summary>
    /// The queue never confirmed us (it was starting or moving), so our demand may be lost: sync, which states the
    /// demand absolutely, so asking again never adds up to more than our share.
    /// </summary>
    private void AskAgainFor(QueueLink link)
    {
        if (link.Queue is not null || _draining || !link.Consuming)
            return;
        Sync(link);
        Timers.StartSingleTimer(link.Name, new AskAgain(link.Name), TimeSpan.FromSeconds(2));
    }

    /// <summary>
    /// The queue actor died (its node left, or it moved): tasks it leased us that have not started are queued
    /// again by their entities, so drop them here instead of running them twice; then ask its successor.
    /// </summary>
    private void OnTerminated(Terminated terminated)
    {
        var link = _links.Values.FirstOrDefault(l => terminated.ActorRef.Equals(l.Queue));
        if (link is null)
            return;
        var node = _buffer.First;
        while (node is not null)
        {
            var next = node.Next;
            if (node.Value.Queue == link.Name)
            {
                _buffer.Remove(node);
                link.Held = Math.Max(0, link.Held - 1);
            }
            node = next;
        }
        link.Queue = null;
        link.Outstanding = 0;
        link.LastBatch = 0;
        link.Finished.Clear();
        if (!_draining && link.Consuming)
            Timers.StartSingleTimer(link.Name, new AskAgain(link.Name), TimeSpan.FromMilliseconds(200));
    }

    private void OnSetRateLimit(SetRateLimit set)
    {
        if (!IsKnownTask(set.TaskName))
            return;
        if (!RateLimit.TryParse(set.Rate ?? "0", out var limit, out var problem))
        {
            Reply(false, problem!);
            return;
        }
        _rateLimitOverrides[set.TaskName] = limit;
        Reply(true, limit is null ? $"rate limit of {set.TaskName} lifted" : $"new rate limit of {set.TaskName} set to {limit}");
        StartWhatFits();
    }

    private void OnSetTimeLimit(SetTimeLimit set)
    {
        if (!IsKnownTask(set.TaskName))
            return;
        if ((SetTimeLimit.Problem(set.Soft, "the soft limit") ?? SetTimeLimit.Problem(set.Hard, "the hard limit")) is { } problem)
        {
            Reply(false, problem);
            return;
        }
        _timeLimitOverrides[set.TaskName] = (Seconds(set.Soft), Seconds(set.Hard));
        Reply(true, $"time limits of {set.TaskName} set to soft {set.Soft:0.###} s, hard {set.Hard:0.###} s (0 = none)");

        static TimeSpan? Seconds(double value) => value > 0 ? TimeSpan.FromSeconds(value) : null;
    }

    private bool IsKnownTask(string name)
    {
        if (_registry.TryGet(name, out _))
            return true;
        Reply(false, $"task '{name}' is not registered on {_settings.Hostname}");
        return false;
    }

    /// <summary>More slots start waiting tasks at once; fewer let running bodies finish and start nothing until below the new size.</summary>
    private void OnResizePool(ResizePool resize)
    {
        var size = _concurrency + resize.Delta;
        if (size < 1)
        {
            Reply(false, $"cannot shrink the pool of {_concurrency} by {-resize.Delta}: at least one slot stays");
            return;
        }
        _concurrency = size;
        _scheduler.Resize(_concurrency);
        Reply(true, $"pool {(resize.Delta >= 0 ? "grown" : "shrunk")} to {_concurrency}");
        foreach (var link in _links.Values)
            RequestMore(link);
        StartWhatFits();
    }

    private void OnAddConsumer(AddConsumer add)
    {
        if (_links.TryGetValue(add.Queue, out var existing) && existing.Consuming)
        {
            Reply(true, $"already consuming from queue '{add.Queue}'");
            return;
        }
        if (existing is null)
            _links[add.Queue] = existing = new QueueLink(add.Queue);
        existing.Consuming = true;
        Reply(true, $"add consumer {add.Queue}");
        if (!_draining)
            RequestMore(existing);
    }

    /// <summary>
    /// Stops asking the queue for work and gives back what has not started; the link stays, so the leases of the
    /// tasks still running are handed back when they finish.
    /// </summary>
    private void OnCancelConsumer(CancelConsumer cancel)
    {
        if (!_links.TryGetValue(cancel.Queue, out var link) || !link.Consuming)
        {
            Reply(false, $"not consuming from queue '{cancel.Queue}'");
            return;
        }
        link.Consuming = false;
        var returned = _buffer.Where(t => t.Queue == link.Name).ToArray();
        foreach (var task in returned)
            _buffer.Remove(task);
        _queues.Tell(new WithdrawDemand(link.Name, returned.Select(LeaseOf).ToArray()));
        link.Held = Math.Max(0, link.Held - returned.Length);
        link.Outstanding = 0;
        Timers.Cancel(link.Name);
        Reply(true, $"no longer consuming from '{cancel.Queue}'");
    }

    /// <summary>Celery's shutdown: the node's coordinated shutdown drains this worker first, then leaves the cluster.</summary>
    private void OnShutdown()
    {
        Reply(true, "shutting down: draining, then leaving the cluster");
        _log.Info("Shutdown requested by remote control");
        _ = CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
    }

    private void Reply(bool ok, string message) => Sender.Tell(new WorkerControlReply(_settings.Hostname, ok, message));

    /// <summary>An error travels in a frame too: a huge message or traceback is cut, so its report cannot be dropped.</summary>
    private static TaskError Bounded(TaskError error) =>
        error.Message.Length <= MaxErrorChars && error.Traceback.Length <= MaxErrorChars
            ? error
            : error with { Message = Cut(error.Message), Traceback = Cut(error.Traceback) };

    private const int MaxErrorChars = 16 * 1024;

    private static string Cut(string text) => text.Length <= MaxErrorChars ? text : text[..MaxErrorChars] + $"… ({text.Length - MaxErrorChars} more characters cut)";

    private WorkerStats Stats() => new(_settings.Hostname, _concurrency, _settings.Prefetch,
        _links.Values.Where(l => l.Consuming).Select(l => l.Name).ToArray(),
        _running.Values.Select(r => r.Task.TaskId).ToArray(), _buffer.Select(t => t.TaskId).ToArray(),
        _counters.Succeeded, _counters.Failed, _counters.Retried, Context.System.Uptime.TotalSeconds);

    /// <summary>
    /// Stopped (by its supervisor after a failure, or with the node): running bodies are cancelled and keep a lent
    /// thread while they wind down, so a successor pool has all its slots; reports not yet acknowledged go once more.
    /// </summary>
    protected override void PostStop()
    {
        foreach (var attempt in _running.Values)
        {
            var cancelling = RequestCancellation(attempt);
            _scheduler.LendWhile(attempt.Body);
            DisposeOnceSettled(cancelling);
        }
        foreach (var unacknowledged in _unacknowledged.Values)
            _tasks.Tell(unacknowledged.Report, ActorRefs.NoSender);
    }

    private sealed class QueueLink(string name)
    {
        public string Name { get; } = name;
        public IActorRef? Queue { get; set; }
        public int Outstanding { get; set; }
        public int Held { get; set; }
        public List<LeaseId> Finished { get; } = new();

        /// <summary>The number of the last batch of this queue that arrived, or that is known never to arrive.</summary>
        public long LastBatch { get; set; }

        /// <summary>False after cancel-consumer: no more demand, but finished leases are still handed back.</summary>
        public bool Consuming { get; set; } = true;
    }

    /// <param name="Run">tells this start of the attempt from a later one of the same attempt.</param>
    /// <param name="Cancelling">the token callbacks in flight, once cancellation was asked for.</param>
    private sealed record RunningAttempt(TaskEnvelope Task, long Run, RetryPolicy Retry, DateTimeOffset StartedAt, long Clock,
        CancellationTokenSource Cancellation, Task<JsonElement> Body, TimeSpan? SoftLimit, bool Revoked = false, bool SoftLimitHit = false,
        Task? Cancelling = null, bool StartReported = false);

    private sealed record UnacknowledgedReport(CompleteAttempt Report, long SentAt);

    private sealed record SoftLimitReached(LeaseId Lease, long Run);

    private sealed record HardLimitReached(LeaseId Lease, long Run, TimeSpan Limit);

    private sealed record StartedReportDue(LeaseId Lease, long Run);

    private sealed class RateLimitPassed
    {
        public static readonly RateLimitPassed Instance = new();
    }

    private sealed class Reconcile
    {
        public static readonly Reconcile Instance = new();
    }

    private sealed class PauseCheck
    {
        public static readonly PauseCheck Instance = new();
    }

    private sealed class AskWitnessesAgain
    {
        public static readonly AskWitnessesAgain Instance = new();
    }

    /// <summary>The witnesses asked after a pause; more than half of them must see this node Up, and none otherwise.</summary>
    private sealed class PauseConfirmation(IReadOnlyList<ICanTell> witnesses)
    {
        public IReadOnlyList<ICanTell> Witnesses { get; } = witnesses;
        public int Needed { get; } = witnesses.Count / 2 + 1;
        public HashSet<IActorRef> Up { get; } = new();
        public bool Removed { get; set; }
    }

    private sealed record BodyFinished(LeaseId Lease, long Run, JsonElement? Result, Exception? Error);

    private sealed record AskAgain(string Queue);

    private sealed class WorkerCounters
    {
        public long Succeeded { get; private set; }
        public long Failed { get; private set; }
        public long Retried { get; private set; }

        public void Count(AttemptOutcome outcome)
        {
            switch (outcome)
            {
                case AttemptOutcome.Succeeded: Succeeded++; break;
                case AttemptOutcome.Failed: Failed++; break;
                case AttemptOutcome.Retry: Retried++; break;
            }
        }
    }
}

/// <param name="Hostname">the worker's name in results, events and stats.</param>
/// <param name="Concurrency">bodies run at once.</param>
/// <param name="Prefetch">tasks held ready beyond the running ones.</param>
/// <param name="Queues">the queues consumed.</param>
public sealed record WorkerSettings(string Hostname, int Concurrency, int Prefetch, IReadOnlyList<string> Queues)
{
    /// <summary>How often unacknowledged reports are resent and each queue is told the leases held (<c>jobs.worker.reconcile-interval</c>).</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Only bodies still running after this long are reported STARTED (<c>jobs.worker.started-report-delay</c>); zero reports each at once.</summary>
    public TimeSpan StartedReportDelay { get; init; } = TimeSpan.Zero;

    /// <summary>A larger result fails its task with ResultTooLarge rather than being dropped by remoting (<c>jobs.tasks.max-result-size</c>).</summary>
    public long MaxResultBytes { get; init; } = PayloadLimits.Default.MaxResultBytes;

    /// <summary>How often the worker checks that its process was not paused (<c>jobs.worker.pause-check-interval</c>).</summary>
    public TimeSpan PauseCheckInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A check later than this past its due time is a pause (<c>jobs.worker.pause-threshold</c>).</summary>
    public TimeSpan PauseThreshold { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the members that have not answered are asked again after a pause (<c>jobs.worker.pause-confirm-interval</c>).</summary>
    public TimeSpan PauseConfirmInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>Asks a worker to finish its running tasks and take no more; answered with <see cref="Drained"/>.</summary>
public sealed record Drain : IJobsMessage
{
    public static readonly Drain Instance = new();
}

public sealed record Drained : IJobsMessage
{
    public static readonly Drained Instance = new();
}

/// <summary>The drain timeout passed: outcomes of bodies still running are dropped, and their tasks run again elsewhere.</summary>
public sealed record AbandonRunning : IJobsMessage
{
    public static readonly AbandonRunning Instance = new();
}

public sealed record GetWorkerStats : IJobsMessage
{
    public static readonly GetWorkerStats Instance = new();
}

public sealed record WorkerStats(
    string Hostname,
    int Concurrency,
    int Prefetch,
    IReadOnlyList<string> Queues,
    IReadOnlyList<string> Active,
    IReadOnlyList<string> Reserved,
    long Succeeded,
    long Failed,
    long Retried,
    double Uptime) : IJobsMessage;
