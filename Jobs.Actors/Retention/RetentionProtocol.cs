namespace Jobs.Actors.Retention;

/// <summary>
/// Removes these persistence ids from the journal entirely (events, snapshots, bookkeeping, expiry entry): told to the
/// node's <see cref="ResultPurger"/>, answered to the sender with <see cref="ResultsPurged"/>. Idempotent.
/// <see cref="InMemoryToo"/>: the ids are a canvas's members, whose entities (if in memory) do not know their result
/// expired; they are told (<see cref="TasksExpired.InMemoryToo"/>).
/// </summary>
public sealed record PurgeResults(IReadOnlyList<string> PersistenceIds, bool InMemoryToo = false) : IJobsMessage;

/// <summary>The purge is done (<see cref="Failure"/> null) or failed, perhaps in part; sending it again is safe.</summary>
public sealed record ResultsPurged(IReadOnlyList<string> PersistenceIds, string? Failure = null) : IJobsMessage;

/// <summary>
/// Published on <see cref="RetentionTopics.Expired"/> after a purge, so every node's monitor index drops these tasks
/// too (the journal and the index agree). With <see cref="InMemoryToo"/> every node's purger also tells those of these
/// tasks that are in memory there (<see cref="TaskResultPurged"/>).
/// </summary>
public sealed record TasksExpired(IReadOnlyList<string> TaskIds, bool InMemoryToo = false) : IJobsMessage;

/// <summary>
/// Told to a task entity in memory (by its path: a passivated one is not started for it) whose journal state was purged
/// with its canvas: it answers PENDING from now on, as an expired task does, and leaves memory.
/// </summary>
public sealed record TaskResultPurged(string TaskId) : IJobsMessage, Akka.Event.IDeadLetterSuppression;

public static class RetentionTopics
{
    public const string Expired = "jobs-expired";
}

/// <summary>Asks the sweeper (a cluster singleton) for its <see cref="RetentionStats"/>.</summary>
public sealed record GetRetentionStats : IJobsMessage
{
    public static readonly GetRetentionStats Instance = new();
}

/// <summary>
/// The sweeper's progress since it started: ids purged, sweeps run and failed, the last sweep's time and size, and
/// how many were due at its last look (a lower bound when a full batch came back).
/// </summary>
public sealed record RetentionStats(long Purged, long Sweeps, long FailedSweeps, DateTimeOffset? LastSweep, int LastBatch, int Due,
    long Vacuums, string? LastFailure) : IJobsMessage;
