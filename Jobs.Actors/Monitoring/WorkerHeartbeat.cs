using System.Globalization;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// Beside a node's <see cref="Workers.WorkerPool"/>: asks it for its stats every heartbeat interval and publishes
/// Celery's <c>worker-online</c> (first), <c>worker-heartbeat</c> and, on a graceful stop, <c>worker-offline</c>.
/// Kept apart so the pool's mailbox carries only work.
/// </summary>
public sealed class WorkerHeartbeat : ReceiveActor, IWithTimers
{
    private const string SwIdent = "ActorJobs";
    private static readonly string SwVer = typeof(WorkerHeartbeat).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    private static readonly string SwSys = RuntimeInformation.OSDescription;

    private readonly IActorRef _worker;
    private readonly IActorRef _mediator;
    private readonly TimeSpan _interval;
    private readonly string _address;
    private WorkerEvent? _last;

    public WorkerHeartbeat(IActorRef worker, IActorRef mediator, TimeSpan interval, string address)
    {
        _worker = worker;
        _mediator = mediator;
        _interval = interval;
        _address = address;

        Receive<Beat>(_ => AskStats());
        Receive<Workers.WorkerStats>(Publish);
        // A busy or stopping worker missing one beat is not news: the next beat asks again.
        Receive<Status.Failure>(_ => { });
    }

    /// <param name="address">The node's cluster address, by which a monitor notices the member go.</param>
    public static Props Props(IActorRef worker, IActorRef mediator, TimeSpan interval, string address) =>
        Akka.Actor.Props.Create(() => new WorkerHeartbeat(worker, mediator, interval, address));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Context.Watch(_worker);
        AskStats();
        Timers.StartPeriodicTimer(Beat.Instance, Beat.Instance, _interval);
    }

    private void AskStats() =>
        _worker.Ask<Workers.WorkerStats>(Workers.GetWorkerStats.Instance, _interval).PipeTo(Self);

    private void Publish(Workers.WorkerStats stats)
    {
        _last = new WorkerEvent(_last is null ? EventTypes.WorkerOnline : EventTypes.WorkerHeartbeat, stats.Hostname, _address,
            DateTimeOffset.UtcNow, _interval.TotalSeconds, stats.Active.Count, stats.Active, stats.Succeeded + stats.Failed, stats.Succeeded,
            stats.Failed, stats.Retried, stats.Reserved.Count, stats.Concurrency, stats.Prefetch, stats.Queues, LoadAverage(),
            stats.Uptime, SwIdent, SwVer, SwSys);
        _mediator.Tell(new Publish(MonitoringTopics.Workers, _last));
    }

    protected override void PostStop()
    {
        if (_last is not null)
            _mediator.Tell(new Publish(MonitoringTopics.Workers, _last with { Type = EventTypes.WorkerOffline, Timestamp = DateTimeOffset.UtcNow }));
    }

    /// <summary>Celery's <c>loadavg</c>: the 1, 5 and 15 minute load averages where the OS tells them (Linux), else zeros.</summary>
    private static IReadOnlyList<double> LoadAverage()
    {
        try
        {
            var fields = File.ReadAllText("/proc/loadavg").Split(' ');
            return fields.Take(3).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return [0, 0, 0];
        }
    }

    private sealed class Beat
    {
        public static readonly Beat Instance = new();
    }
}
