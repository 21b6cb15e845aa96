using Akka.Configuration;

namespace Jobs.Actors.Retention;

/// <summary>The <c>jobs.retention</c> section (hocon/retention.conf).</summary>
public sealed record RetentionSettings(
    bool Enabled,
    TimeSpan SweepInterval,
    int BatchSize,
    int MaxBatchesPerSweep,
    TimeSpan MaintenanceInterval,
    TimeSpan TagRetention,
    int VacuumPages)
{
    /// <summary>How long the sweeper waits for a due canvas's coordinator to purge it and its members.</summary>
    public TimeSpan CanvasTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public static RetentionSettings Create(Config config)
    {
        var retention = config.GetConfig("jobs.retention") ?? Config.Empty;
        return new RetentionSettings(
            retention.GetBoolean("enabled", true),
            Positive(retention.GetTimeSpan("sweep-interval", TimeSpan.FromSeconds(1)), "sweep-interval"),
            Math.Clamp(retention.GetInt("batch-size", 200), 1, 1000),
            Math.Max(1, retention.GetInt("max-batches-per-sweep", 25)),
            Positive(retention.GetTimeSpan("maintenance-interval", TimeSpan.FromSeconds(60)), "maintenance-interval"),
            retention.GetTimeSpan("tag-retention", TimeSpan.FromDays(1)),
            Math.Max(0, retention.GetInt("vacuum-pages", 2000)))
        {
            CanvasTimeout = Positive(retention.GetTimeSpan("canvas-timeout", TimeSpan.FromSeconds(30)), "canvas-timeout"),
        };
    }

    private static TimeSpan Positive(TimeSpan value, string key) =>
        value > TimeSpan.Zero ? value : throw new ConfigurationException($"jobs.retention.{key} must be positive, not {value}");
}
