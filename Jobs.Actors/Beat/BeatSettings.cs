using Akka.Configuration;

namespace Jobs.Actors.Beat;

/// <summary>The <c>jobs.beat</c> section (hocon/beat.conf), read once per node.</summary>
public sealed record BeatSettings(
    string DefaultTimeZone,
    TimeSpan MisfireThreshold,
    TimeSpan SleepBeyond,
    TimeSpan WakeAhead,
    TimeSpan ResendInterval,
    int DirectoryPartitions,
    int SnapshotEvery,
    TimeSpan ApplyTimeout)
{
    public static BeatSettings Create(Config config)
    {
        var beat = config.GetConfig("jobs.beat") ?? ConfigurationFactory.Empty;
        var settings = new BeatSettings(
            beat.GetString("default-time-zone", "UTC"),
            beat.GetTimeSpan("misfire-threshold", TimeSpan.FromSeconds(5)),
            beat.GetTimeSpan("sleep-beyond", TimeSpan.FromSeconds(60)),
            beat.GetTimeSpan("wake-ahead", TimeSpan.FromSeconds(20)),
            beat.GetTimeSpan("resend-interval", TimeSpan.FromSeconds(3)),
            Math.Max(1, beat.GetInt("directory-partitions", 8)),
            Math.Max(1, beat.GetInt("snapshot-every", 100)),
            beat.GetTimeSpan("apply-timeout", TimeSpan.FromSeconds(60)));
        if (settings.WakeAhead >= settings.SleepBeyond)
            throw new ConfigurationException($"jobs.beat.wake-ahead ({settings.WakeAhead}) must be below jobs.beat.sleep-beyond ({settings.SleepBeyond})");
        try
        {
            EntryParser.CheckTimeZone(settings.DefaultTimeZone);
        }
        catch (InvalidEntryException e)
        {
            throw new ConfigurationException("jobs.beat.default-time-zone: " + e.Message);
        }
        return settings;
    }
}
