using Akka.Configuration;

namespace Jobs.Actors.Monitoring;

/// <summary>The <c>jobs.monitor</c> section (see <c>hocon/monitoring.conf</c>).</summary>
public sealed record MonitoringSettings(
    string IndexPath,
    int MaxResultLength,
    int MaxTasks,
    TimeSpan HeartbeatInterval,
    TimeSpan OfflineAfter,
    int BatchSize,
    TimeSpan BatchInterval,
    TimeSpan JournalSweepInterval,
    TimeSpan JournalSweepBackstop,
    TimeSpan JournalSweepSettle,
    bool JournalSweepReadsAll,
    TimeSpan PublishInterval,
    int PublishBatchSize,
    TimeSpan StreamFlushInterval,
    TimeSpan StreamPingInterval,
    int StreamBufferedBatches)
{
    public const string Dispatcher = "jobs.monitor.dispatcher";

    public static MonitoringSettings Create(Config config)
    {
        var monitor = config.GetConfig("jobs.monitor") ?? throw new ConfigurationException("the 'jobs.monitor' section is missing");
        var path = monitor.GetString("index-path", "");
        if (string.IsNullOrWhiteSpace(path))
        {
            // Beside the node's journal file (or where it would be): one data directory per node.
            var journal = Path.GetFullPath(config.GetString("jobs.persistence.sqlite.path", "./data/jobs.db"));
            path = Path.Combine(Path.GetDirectoryName(journal) ?? ".", "monitor.db");
        }
        return new MonitoringSettings(
            Path.GetFullPath(path),
            Math.Max(16, monitor.GetInt("max-result-length", 4096)),
            Math.Max(0, monitor.GetInt("max-tasks", 100_000)),
            monitor.GetTimeSpan("heartbeat-interval", TimeSpan.FromSeconds(2)),
            monitor.GetTimeSpan("offline-after", TimeSpan.FromSeconds(10)),
            Math.Max(1, monitor.GetInt("batch-size", 1000)),
            monitor.GetTimeSpan("batch-interval", TimeSpan.FromMilliseconds(200)),
            monitor.GetTimeSpan("journal-sweep-interval", TimeSpan.FromSeconds(5)),
            monitor.GetTimeSpan("journal-sweep-backstop", TimeSpan.FromSeconds(60)),
            monitor.GetTimeSpan("journal-sweep-settle", TimeSpan.FromSeconds(2)),
            ReadsAll(monitor.GetString("journal-sweep-reads", "lacking")),
            monitor.GetTimeSpan("publish-interval", TimeSpan.FromMilliseconds(20)),
            Math.Max(1, monitor.GetInt("publish-batch-size", 256)),
            monitor.GetTimeSpan("stream.flush-interval", TimeSpan.FromMilliseconds(250)),
            monitor.GetTimeSpan("stream.ping-interval", TimeSpan.FromSeconds(15)),
            Math.Max(1, monitor.GetInt("stream.buffered-batches", 400)));
    }

    private static bool ReadsAll(string reads) => reads switch
    {
        "lacking" => false,
        "all" => true,
        _ => throw new ConfigurationException($"jobs.monitor.journal-sweep-reads is '{reads}'; it is 'lacking' or 'all'"),
    };
}
