using Akka.Configuration;

namespace Jobs.Actors.Persistence.Redis.Journal;

/// <summary>How the journal batches: read from <c>akka.persistence.journal.redis</c> (hocon/persistence-redis.conf).</summary>
public sealed record RedisJournalSettings(int MaxBatchOperations, long MaxBatchBytes, int MaxFlushesInFlight, int MaxBufferedRequests)
{
    public static RedisJournalSettings Create(Config config)
    {
        var settings = new RedisJournalSettings(
            config.GetInt("max-batch-operations", 128),
            config.GetByteSize("max-batch-bytes", 256 * 1024) ?? 256 * 1024,
            config.GetInt("max-flushes-in-flight", 2),
            config.GetInt("max-buffered-requests", 50_000));
        if (settings.MaxBatchOperations < 1 || settings.MaxBatchBytes < 1 || settings.MaxFlushesInFlight < 1 || settings.MaxBufferedRequests < 1)
            throw new ConfigurationException($"akka.persistence.journal.redis: max-batch-operations, max-batch-bytes, max-flushes-in-flight and max-buffered-requests must be positive ({settings})");
        return settings;
    }
}
