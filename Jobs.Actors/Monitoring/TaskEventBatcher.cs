using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// A node's task events on their way to DistributedPubSub: task entities and the client tell it what they would tell
/// the mediator, and it publishes the task events of each interval as one <see cref="TaskEventBatch"/> (at most
/// <see cref="MonitoringSettings.PublishBatchSize"/> events), so a task's four events cost a few messages to the
/// mediator, the topic and each subscribing node per interval instead of three or more each. Anything else is passed
/// to the mediator as it comes. Events reach the monitors at most one interval later; their order is kept.
/// </summary>
public sealed class TaskEventBatcher : ReceiveActor, IWithTimers
{
    private readonly IActorRef _mediator;
    private readonly TimeSpan _interval;
    private readonly int _batchSize;
    private List<TaskEvent> _pending = new();

    public TaskEventBatcher(IActorRef mediator, TimeSpan interval, int batchSize)
    {
        _mediator = mediator;
        _interval = interval;
        _batchSize = batchSize;
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

    public static Props Props(IActorRef mediator, MonitoringSettings settings) =>
        Akka.Actor.Props.Create(() => new TaskEventBatcher(mediator, settings.PublishInterval, settings.PublishBatchSize));

    public ITimerScheduler Timers { get; set; } = null!;

    private void Add(TaskEvent e)
    {
        _pending.Add(e);
        if (_pending.Count >= _batchSize)
            Flush();
        else if (_pending.Count == 1)
            Timers.StartSingleTimer(FlushEvents.Instance, FlushEvents.Instance, _interval);
    }

    private void Flush()
    {
        if (_pending.Count == 0)
            return;
        Timers.Cancel(FlushEvents.Instance);
        _mediator.Tell(new Publish(MonitoringTopics.Tasks, new TaskEventBatch(_pending)));
        _pending = new List<TaskEvent>();
    }

    /// <summary>What is still waiting goes out before the actor stops (a node leaving cleanly).</summary>
    protected override void PostStop() => Flush();

    private sealed class FlushEvents
    {
        public static readonly FlushEvents Instance = new();
    }
}
