using System.Text;
using System.Threading.Channels;
using Akka.Actor;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// One live event stream (one SSE connection): subscribes to the node's monitor, collects events, and every flush
/// interval writes at most one <c>tasks</c>, one <c>workers</c> and one <c>beat</c> message into <see cref="Messages"/>, which the
/// HTTP handler copies to the response. A client that falls too far behind has its stream closed rather than
/// growing memory without bound (browsers reconnect). Stopping the actor ends the stream.
/// </summary>
public sealed class EventStreamSubscriber : ReceiveActor, IWithTimers
{
    private readonly IActorRef _monitor;
    private readonly TimeSpan _flushInterval;
    private readonly ChannelWriter<string> _out;
    private readonly List<string> _tasks = new();
    private readonly List<string> _workers = new();
    private readonly List<string> _beats = new();

    public EventStreamSubscriber(IActorRef monitor, TimeSpan flushInterval, ChannelWriter<string> output)
    {
        _monitor = monitor;
        _flushInterval = flushInterval;
        _out = output;
        Receive<TaskEvent>(e => _tasks.Add(MonitoringJson.Event(e)));
        Receive<TaskEventBatch>(batch =>
        {
            foreach (var e in batch.Events)
                _tasks.Add(MonitoringJson.Event(e));
        });
        Receive<WorkerEvent>(e => _workers.Add(MonitoringJson.Event(e).ToJsonString()));
        Receive<Beat.BeatTick>(e => _beats.Add(MonitoringJson.Event(e).ToJsonString()));
        Receive<Flush>(_ => FlushBatches());
    }

    public static Props Props(IActorRef monitor, TimeSpan flushInterval, ChannelWriter<string> output) =>
        Akka.Actor.Props.Create(() => new EventStreamSubscriber(monitor, flushInterval, output));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _monitor.Tell(new SubscribeEvents(Self));
        Timers.StartPeriodicTimer(Flush.Instance, Flush.Instance, _flushInterval);
    }

    protected override void PostStop()
    {
        _monitor.Tell(new UnsubscribeEvents(Self));
        _out.TryComplete();
    }

    private void FlushBatches()
    {
        if (!Write("tasks", _tasks) || !Write("workers", _workers) || !Write("beat", _beats))
        {
            _out.TryComplete(new InvalidOperationException("the client fell too far behind the event stream"));
            Context.Stop(Self);
        }
    }

    private bool Write(string kind, List<string> batch)
    {
        if (batch.Count == 0)
            return true;
        var message = new StringBuilder("event: ").Append(kind).Append("\ndata: [").AppendJoin(',', batch).Append("]\n\n").ToString();
        batch.Clear();
        return _out.TryWrite(message);
    }

    private sealed class Flush
    {
        public static readonly Flush Instance = new();
    }
}

public static class EventStreams
{
    /// <summary>Starts a subscriber; read its SSE messages from the returned channel and stop the actor when done.</summary>
    public static (IActorRef Subscriber, ChannelReader<string> Messages) Start(ActorSystem system, IActorRef monitor, MonitoringSettings settings)
    {
        var channel = Channel.CreateBounded<string>(new BoundedChannelOptions(settings.StreamBufferedBatches) { SingleReader = true, SingleWriter = true });
        var subscriber = system.ActorOf(EventStreamSubscriber.Props(monitor, settings.StreamFlushInterval, channel.Writer));
        return (subscriber, channel.Reader);
    }
}
