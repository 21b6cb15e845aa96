using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Jobs.Actors.Serialization;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// A node's task events on their way to DistributedPubSub: task entities and the client tell it what they would tell
/// the mediator, and it publishes the task events of each interval as one <see cref="TaskEventBatch"/> (at most
/// <see cref="MonitoringSettings.PublishBatchSize"/> events), so a task's four events cost a few messages to the
/// mediator, the topic and each subscribing node per interval instead of three or more each. Anything else is passed
/// to the mediator as it comes. Events reach the monitors at most one interval later; their order is kept.
/// A batch also never outgrows a remoting frame (events carry arguments and results, up to a MiB each, and remoting
/// drops a larger message with only a log line): it leaves before an event would take it past
/// <c>maxBatchBytes</c>, and an event that large alone goes in a batch of its own.
/// </summary>
public sealed class TaskEventBatcher : ReceiveActor, IWithTimers
{
    private readonly IActorRef _mediator;
    private readonly TimeSpan _interval;
    private readonly int _batchSize;
    private readonly long _maxBatchBytes;
    private readonly string _publisher;
    private List<TaskEvent> _pending;
    private long _pendingBytes;
    private long _published;

    public TaskEventBatcher(IActorRef mediator, TimeSpan interval, int batchSize, long maxBatchBytes = long.MaxValue)
    {
        _mediator = mediator;
        _interval = interval;
        _batchSize = batchSize;
        _maxBatchBytes = maxBatchBytes;
        _pending = new List<TaskEvent>(batchSize);
        // A new name for every incarnation: a batcher started again counts from 1 under it, and monitors take its first
        // batch as a reason to sweep (what its predecessor was holding may be lost).
        _publisher = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress + "/" + Guid.NewGuid().ToString("N");
        Receive<Publish>(publish =>
        {
            if (publish is { Topic: MonitoringTopics.Tasks, Message: TaskEvent e })
                Add(e);
            else
                _mediator.Forward(publish);
        });
        Receive<TaskEvent>(Add);
        Receive<FlushEvents>(_ => Flush());
    }

    public static Props Props(IActorRef mediator, MonitoringSettings settings, long maxBatchBytes) =>
        Akka.Actor.Props.Create(() => new TaskEventBatcher(mediator, settings.PublishInterval, settings.PublishBatchSize, maxBatchBytes));

    public ITimerScheduler Timers { get; set; } = null!;

    private void Add(TaskEvent e)
    {
        var bytes = SizeOf(e);
        if (_pending.Count > 0 && _pendingBytes + bytes > _maxBatchBytes)
            Flush();
        _pending.Add(e);
        _pendingBytes += bytes;
        if (_pending.Count >= _batchSize || _pendingBytes >= _maxBatchBytes)
            Flush();
        else if (_pending.Count == 1)
            Timers.StartSingleTimer(FlushEvents.Instance, FlushEvents.Instance, _interval);
    }

    private void Flush()
    {
        if (_pending.Count == 0)
            return;
        Timers.Cancel(FlushEvents.Instance);
        _mediator.Tell(new Publish(MonitoringTopics.Tasks, new TaskEventBatch(_pending, _publisher, ++_published)));
        _pending = new List<TaskEvent>(_batchSize);
        _pendingBytes = 0;
    }

    /// <summary>An event's size as sent, never less: its JSON payloads as <see cref="PayloadSize"/> counts them, its
    /// error texts at up to six bytes a character once escaped, and a fixed allowance for ids, names and times.</summary>
    private static long SizeOf(TaskEvent e) =>
        (e.Args is { } args ? PayloadSize.Of(args) : 0) + (e.Kwargs is { } kwargs ? PayloadSize.Of(kwargs) : 0) +
        (e.Result is { } result ? PayloadSize.Of(result) : 0) +
        6L * ((e.Exception?.Length ?? 0) + (e.Traceback?.Length ?? 0) + (e.Reason?.Length ?? 0)) + 1024;

    /// <summary>What is still waiting goes out before the actor stops (a node leaving cleanly).</summary>
    protected override void PostStop() => Flush();

    private sealed class FlushEvents
    {
        public static readonly FlushEvents Instance = new();
    }
}
