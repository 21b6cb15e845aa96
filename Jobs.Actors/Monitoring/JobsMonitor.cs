using Akka.Actor;
using Jobs.Actors.Hosting;

namespace Jobs.Actors.Monitoring;

/// <summary>A node's monitor (started where HTTP is served): the actor to ask, its settings and its metrics.</summary>
public sealed class JobsMonitor(IActorRef monitor, MonitoringSettings settings, TaskMetrics metrics)
{
    public IActorRef Ref { get; } = monitor;
    public MonitoringSettings Settings { get; } = settings;
    public TaskMetrics Metrics { get; } = metrics;

    public static JobsMonitor Start(JobsNode node)
    {
        var settings = node.Settings.Monitoring;
        var metrics = new TaskMetrics();
        var readJournal = node.Settings.Journal == "redis"
            ? Persistence.Redis.Query.RedisReadJournal.Identifier
            : "akka.persistence.query.journal.sql";
        var monitor = node.System.ActorOf(TaskMonitor.Props(settings, readJournal, metrics), "monitor");
        return new JobsMonitor(monitor, settings, metrics);
    }
}
