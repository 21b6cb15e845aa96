using System.Diagnostics;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Workers;

/// <summary>
/// A node's worker (Celery's worker process): pulls tasks from the queues it consumes, never more than
/// concurrency + prefetch at a time, runs their bodies on the <see cref="BodyScheduler"/>, and reports each
/// attempt to its task entity. A body that throws is a task outcome, never a failure of this actor.
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
    private readonly Dictionary<string, RunningAttempt> _running = new();
    private readonly Random _random = new();
    private readonly WorkerCounters _counters = new();
    private readonly RateLimits _rateLimits = new();
    private readonly Dictionary<string, string?> _rateLimitOverrides = new();
    private readonly Dictionary<string, (TimeSpan? Soft, TimeSpan? Hard)> _timeLimitOverrides = new();
    private int _concurrency;
    private int _abandonedBodies;
    private IActorRef? _drainedReplyTo;
    private bool _draining;
    private bool _drainTimedOut;

    public WorkerPool(TaskRegistry registry, WorkerSettings settings, IActorRef tasks, IActorRef queues, BodyScheduler scheduler)
    {
        _registry = registry;
        _settings = settings;
        _tasks = tasks;
        _queues = queues;
        _scheduler = scheduler;
        _concurrency = settings.Concurrency;
        foreach (var queue in settings.Queues)
            _links[queue] = new QueueLink(queue);

        Receive<ConsumerRegistered>(OnRegistered);
        Receive<RunTasks>(OnRunTasks);
        Receive<BodyFinished>(OnBodyFinished);
        Receive<Terminated>(OnTerminated);
        Receive<AskAgain>(again => AskAgainFor(_links[again.Queue]));
        Receive<GetWorkerStats>(_ => Sender.Tell(Stats()));
        Receive<Drain>(_ => StartDraining());
        Receive<CancelAttempt>(Cancel);
        Receive<HardLimitReached>(OnHardLimit);
        Receive<RateLimitPassed>(_ => StartWhatFits());
        Receive<AbandonRunning>(_ => { _drainTimedOut = true; });
        Receive<SetRateLimit>(OnSetRateLimit);
        Receive<SetTimeLimit>(OnSetTimeLimit);
        Receive<ResizePool>(OnResizePool);
        Receive<AddConsumer>(OnAddConsumer);
        Receive<CancelConsumer>(OnCancelConsumer);
        Receive<ShutdownWorker>(_ => OnShutdown());
    }

    public static Props Props(TaskRegistry registry, WorkerSettings settings, IActorRef tasks, IActorRef queues, BodyScheduler scheduler) =>
        Akka.Actor.Props.Create(() => new WorkerPool(registry, settings, tasks, queues, scheduler));

    public ITimerScheduler Timers { get; set; } = null!;

    private int Capacity => _concurrency + _settings.Prefetch;

    /// <summary>Each queue consumed may hold an equal share of the capacity, and at least one task.</summary>
    private int Share => Math.Max(1, Capacity / Math.Max(1, _links.Values.Count(l => l.Consuming)));

    protected override void PreStart()
    {
        foreach (var link in _links.Values)
            RequestMore(link);
    }

    private void OnRegistered(ConsumerRegistered registered)
    {
        if (!_links.TryGetValue(registered.Queue, out var link))
            return;
        link.Queue = Sender;
        Context.Watch(Sender);
        Timers.Cancel(registered.Queue);
    }

    private void OnRunTasks(RunTasks run)
    {
        var link = _links[run.Queue];
        if (!link.Consuming)
        {
            // Leased while the consumer was being cancelled: straight back to the queue.
            link.Outstanding = 0;
            _queues.Tell(new WithdrawDemand(link.Name, run.Tasks.Select(t => t.TaskId).ToArray()));
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
        var node = _buffer.First;
        TimeSpan? wake = null;
        while (!_draining && _running.Count < _concurrency && node is not null)
        {
            var next = node.Next;
            var task = node.Value;
            var limit = _rateLimitOverrides.TryGetValue(task.Name, out var set) ? set
                : _registry.TryGet(task.Name, out var definition) ? definition.RateLimit : null;
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

    private void Start(TaskEnvelope task)
    {
        var startedAt = DateTimeOffset.UtcNow;
        if (task.ExpiresAt is { } expires && expires <= startedAt)
        {
            Report(task, startedAt, 0, AttemptOutcome.Expired);
            return;
        }
        Func<TaskContext, Task<JsonElement>> body;
        RetryPolicy retry;
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
        _running[task.TaskId] = new RunningAttempt(task, retry, startedAt, Stopwatch.GetTimestamp(), cancellation, softLimit);
        if (softLimit is { } soft)
            cancellation.CancelAfter(soft);
        if (hardLimit is { } hard)
            Timers.StartSingleTimer(HardLimitKey(task.TaskId), new HardLimitReached(task.TaskId, hard), hard);
        _tasks.Tell(new MarkTaskStarted(task.TaskId, task.Retries, _settings.Hostname, Self, startedAt));

        var taskId = task.TaskId;
        _scheduler.Run(() => body(context))
            .PipeTo(Self, success: result => new BodyFinished(taskId, result, null), failure: e => new BodyFinished(taskId, null, e));
    }

    private void OnBodyFinished(BodyFinished finished)
    {
        if (!_running.Remove(finished.TaskId, out var attempt))
            return;
        Timers.Cancel(HardLimitKey(finished.TaskId));
        var softLimitHit = attempt.SoftLimit is not null && attempt.Cancellation.IsCancellationRequested && !attempt.Revoked;
        attempt.Cancellation.Dispose();
        if (_drainTimedOut)
        {
            // Past the drain timeout the outcome of a cancelled body means nothing: its entity runs it again.
            ReplyIfDrained();
            return;
        }
        var runtime = Stopwatch.GetElapsedTime(attempt.Clock).TotalSeconds;
        if (finished.Error is null)
        {
            Report(attempt.Task, attempt.StartedAt, runtime, AttemptOutcome.Succeeded, result: finished.Result);
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
                    Report(attempt.Task, attempt.StartedAt, runtime, AttemptOutcome.Retry, error: TaskError.From(retry.Cause),
                        countdown: retry.Countdown.TotalSeconds);
                    break;
                case RetryDecision.Fail fail:
                    Report(attempt.Task, attempt.StartedAt, runtime, AttemptOutcome.Failed, error: TaskError.From(fail.Cause));
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
        var buffered = _buffer.FirstOrDefault(t => t.TaskId == cancel.TaskId);
        if (buffered is not null)
        {
            _buffer.Remove(buffered);
            Release(buffered);
            return;
        }
        if (!_running.TryGetValue(cancel.TaskId, out var attempt))
            return;
        _running[cancel.TaskId] = attempt with { Revoked = true };
        attempt.Cancellation.Cancel();
        if (cancel.Terminate)
            Abandon(attempt);
    }

    /// <summary>The hard time limit: the attempt fails with TimeLimitExceeded and its slot is freed.</summary>
    private void OnHardLimit(HardLimitReached limit)
    {
        if (!_running.TryGetValue(limit.TaskId, out var attempt))
            return;
        attempt.Cancellation.Cancel();
        Abandon(attempt);
        var error = new TaskError("TimeLimitExceeded", $"{attempt.Task.Name} exceeded its time limit of {limit.Limit.TotalSeconds:0.###} s",
            $"TimeLimitExceeded: the attempt was ended after {limit.Limit.TotalSeconds:0.###} s on {_settings.Hostname}");
        _counters.Count(AttemptOutcome.Failed);
        _tasks.Tell(new CompleteAttempt(attempt.Task.TaskId, attempt.Task.Retries, AttemptOutcome.Failed, _settings.Hostname,
            attempt.StartedAt, limit.Limit.TotalSeconds, Error: error));
    }

    /// <summary>Forgets a running attempt without waiting for its body, and gives the scheduler a thread in its place.</summary>
    private void Abandon(RunningAttempt attempt)
    {
        _running.Remove(attempt.Task.TaskId);
        Timers.Cancel(HardLimitKey(attempt.Task.TaskId));
        _abandonedBodies++;
        _scheduler.Resize(_concurrency + _abandonedBodies);
        Release(attempt.Task);
        StartWhatFits();
        ReplyIfDrained();
    }

    /// <summary>Hands a task's lease back to its queue and asks for another.</summary>
    private void Release(TaskEnvelope task)
    {
        if (!_links.TryGetValue(task.Queue, out var link))
            return;
        link.Held = Math.Max(0, link.Held - 1);
        link.Finished.Add(task.TaskId);
        RequestMore(link);
    }

    private static string HardLimitKey(string taskId) => "limit:" + taskId;

    /// <summary>
    /// Graceful shutdown: take no more work, give back what has not started, and answer <see cref="Drained"/> once
    /// the running bodies are done, so the node leaves only after its results are reported.
    /// </summary>
    private void StartDraining()
    {
        _drainedReplyTo = Sender;
        if (!_draining)
        {
            _draining = true;
            foreach (var link in _links.Values)
            {
                var returned = _buffer.Where(t => t.Queue == link.Name).Select(t => t.TaskId).ToArray();
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
        if (_drainedReplyTo is null || _running.Count > 0)
            return;
        _drainedReplyTo.Tell(Drained.Instance);
        _drainedReplyTo = null;
    }

    private void Report(TaskEnvelope task, DateTimeOffset startedAt, double runtime, AttemptOutcome outcome,
        JsonElement? result = null, TaskError? error = null, double countdown = 0)
    {
        _counters.Count(outcome);
        _tasks.Tell(new CompleteAttempt(task.TaskId, task.Retries, outcome, _settings.Hostname, startedAt, runtime,
            result, error, countdown));
        if (outcome == AttemptOutcome.Failed && error is not null)
            _log.Error("Task {0}[{1}] raised unexpected: {2}: {3}", task.Name, task.TaskId, error.Type, error.Message);
        Release(task);
    }

    private void RequestMore(QueueLink link)
    {
        var want = _draining || !link.Consuming ? 0 : Math.Max(0, Share - link.Outstanding - link.Held);
        if (want == 0 && link.Finished.Count == 0)
            return;
        _queues.Tell(new RequestTasks(link.Name, want, link.Finished.ToArray()));
        link.Finished.Clear();
        link.Outstanding += want;
        if (link.Queue is null && !_draining && link.Consuming)
            Timers.StartSingleTimer(link.Name, new AskAgain(link.Name), TimeSpan.FromSeconds(2));
    }

    /// <summary>The queue never confirmed us (it was starting or moving), so our demand may be lost: send it again.</summary>
    private void AskAgainFor(QueueLink link)
    {
        if (link.Queue is not null)
            return;
        link.Outstanding = 0;
        RequestMore(link);
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
        link.Finished.Clear();
        if (!_draining && link.Consuming)
            Timers.StartSingleTimer(link.Name, new AskAgain(link.Name), TimeSpan.FromMilliseconds(200));
    }

    private void OnSetRateLimit(SetRateLimit set)
    {
        if (!IsKnownTask(set.TaskName))
            return;
        _rateLimitOverrides[set.TaskName] = set.Rate;
        Reply(true, set.Rate is null ? $"rate limit of {set.TaskName} lifted" : $"new rate limit of {set.TaskName} set to {set.Rate}");
        StartWhatFits();
    }

    private void OnSetTimeLimit(SetTimeLimit set)
    {
        if (!IsKnownTask(set.TaskName))
            return;
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
        _scheduler.Resize(_concurrency + _abandonedBodies);
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
        _queues.Tell(new WithdrawDemand(link.Name, returned.Select(t => t.TaskId).ToArray()));
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

    private WorkerStats Stats() => new(_settings.Hostname, _concurrency, _settings.Prefetch,
        _links.Values.Where(l => l.Consuming).Select(l => l.Name).ToArray(),
        _running.Values.Select(r => r.Task.TaskId).ToArray(), _buffer.Select(t => t.TaskId).ToArray(),
        _counters.Succeeded, _counters.Failed, _counters.Retried, Context.System.Uptime.TotalSeconds);

    protected override void PostStop()
    {
        foreach (var attempt in _running.Values)
            attempt.Cancellation.Cancel();
    }

    private sealed class QueueLink(string name)
    {
        public string Name { get; } = name;
        public IActorRef? Queue { get; set; }
        public int Outstanding { get; set; }
        public int Held { get; set; }
        public List<string> Finished { get; } = new();

        /// <summary>False after cancel-consumer: no more demand, but finished leases are still handed back.</summary>
        public bool Consuming { get; set; } = true;
    }

    private sealed record RunningAttempt(TaskEnvelope Task, RetryPolicy Retry, DateTimeOffset StartedAt, long Clock,
        CancellationTokenSource Cancellation, TimeSpan? SoftLimit, bool Revoked = false);

    private sealed record HardLimitReached(string TaskId, TimeSpan Limit);

    private sealed class RateLimitPassed
    {
        public static readonly RateLimitPassed Instance = new();
    }

    private sealed record BodyFinished(string TaskId, JsonElement? Result, Exception? Error);

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

public sealed record WorkerSettings(string Hostname, int Concurrency, int Prefetch, IReadOnlyList<string> Queues);

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
