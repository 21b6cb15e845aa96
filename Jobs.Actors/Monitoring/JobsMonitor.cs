using Akka.Actor;
using Akka.Event;
using Jobs.Actors.Hosting;

namespace Jobs.Actors.Monitoring;

/// <summary>A node's monitor (started where HTTP is served): the actor to ask, its settings and its metrics.</summary>
public sealed class JobsMonitor(IActorRef monitor, MonitoringSettings settings, TaskMetrics metrics, Beat.BeatMetrics beatMetrics)
{
    public Beat.BeatMetrics BeatMetrics { get; } = beatMetrics;

    public IActorRef Ref { get; } = monitor;
    public MonitoringSettings Settings { get; } = settings;
    public TaskMetrics Metrics { get; } = metrics;

    public static JobsMonitor Start(JobsNode node)
    {
        var settings = node.Settings.Monitoring;
        // Opened once before the actors start: the schema exists before reader and writer race to it, a file a machine
        // crash left corrupt is replaced (the sweep rebuilds it from the journal) while no other connection has it
        // open, and a path that cannot be used stops the node at start with its reason instead of failing every request.
        try
        {
            using var index = TaskIndex.Open(settings.IndexPath, settings.MaxResultLength, recreateIfCorrupt: true);
            if (index.Recreated)
                node.System.Log.Warning("Monitor: the task index at {0} was corrupt; it was replaced by an empty one, rebuilt from the journal", settings.IndexPath);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new MonitorUnavailableException($"jobs.monitor.index-path: cannot open the task index at '{settings.IndexPath}': {e.Message}", e);
        }
        var metrics = new TaskMetrics();
        var readJournal = node.Settings.Journal == "redis"
            ? Persistence.Redis.Query.RedisReadJournal.Identifier
            : "akka.persistence.query.journal.sql";
        var beatMetrics = new Beat.BeatMetrics();
        var monitor = node.System.ActorOf(TaskMonitor.Props(settings, readJournal, metrics, beatMetrics), "monitor");
        return new JobsMonitor(monitor, settings, metrics, beatMetrics);
    }
}

/// <summary>The monitor cannot start (its index file cannot be opened): the node stops at start, saying why.</summary>
public sealed class MonitorUnavailableException(string message, Exception inner) : Exception(message, inner);
