using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence.Journal;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Persistence;

namespace Jobs.Actors.Tasks;

/// <summary>
/// The pending index: per task shard, the ids of the tasks accepted and not finished (<see cref="JournalIndexes.Pending"/>).
/// A task joins it in the atomic write that journals its acceptance and leaves it in the write that journals its end,
/// so "journaled and unfinished" and "in its shard's pending set" are one fact. After a crash or a hand-off the
/// shard's <see cref="PendingTaskWaker"/> starts the tasks it lists, which is what remember-entities did at the cost
/// of two more journal writes per task.
/// </summary>
public static class PendingTasks
{
    /// <summary>
    /// The index operations that journal <paramref name="event"/> carries: the one place that decides pendingness.
    /// A retry keeps the task where its acceptance put it; removing an id that is not there (a revoke before the
    /// submission) is harmless.
    /// </summary>
    public static IReadOnlyList<IndexOperation> OperationsFor(ITaskEvent @event, string shardId) => @event switch
    {
        TaskReceived e => [IndexOperation.AddToSet(JournalIndexes.Pending(shardId), e.TaskId)],
        TaskSucceeded e => [IndexOperation.RemoveFromSet(JournalIndexes.Pending(shardId), e.TaskId)],
        TaskFailed e => [IndexOperation.RemoveFromSet(JournalIndexes.Pending(shardId), e.TaskId)],
        TaskRevoked e => [IndexOperation.RemoveFromSet(JournalIndexes.Pending(shardId), e.TaskId)],
        _ => [],
    };
}

/// <summary>
/// The Redis journal's adapter for task events: the <see cref="TaskEventTagger.Tag"/> tag, and, when
/// <c>jobs.tasks.pending.restart-from = index</c>, the pending index's operations (<see cref="PendingTasks"/>) with the
/// shard the task region's extractor gives the task. Bound in <c>hocon/monitoring.conf</c> on the Redis journal only:
/// the SQL journal would store the <see cref="Indexed"/> wrapper as the event.
/// </summary>
public sealed class TaskJournalAdapter : IWriteEventAdapter
{
    private static readonly IImmutableSet<string> Tags = ImmutableHashSet.Create(TaskEventTagger.Tag);
    private readonly StableMessageExtractor? _shards;

    public TaskJournalAdapter(ExtendedActorSystem system)
    {
        var config = system.Settings.Config;
        if (PendingIndexSettings.UsesIndex(config))
            _shards = new StableMessageExtractor(config.GetInt("jobs.sharding.number-of-shards", 100), _ => null);
    }

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt)
    {
        if (evt is not ITaskEvent task)
            return new Tagged(evt, Tags);
        var pending = _shards is null ? [] : PendingTasks.OperationsFor(task, _shards.ShardId(task.TaskId));
        // A finished task's result expiry entry (README "Retention") joins the same write.
        var expiry = Retention.ExpiryEntries.IndexOperations(evt);
        IReadOnlyList<IndexOperation> operations = expiry.Count == 0 ? pending : pending.Count == 0 ? expiry : [.. pending, .. expiry];
        return new Tagged(operations.Count == 0 ? evt : new Indexed(evt, operations), Tags);
    }
}

/// <summary>How unfinished tasks come back after a crash or a hand-off (<c>jobs.tasks.pending</c>).</summary>
public sealed record PendingIndexSettings(bool Enabled, TimeSpan WakeInterval, int WakeBatch)
{
    public static PendingIndexSettings Create(Akka.Configuration.Config config) => new(
        UsesIndex(config),
        config.GetTimeSpan("jobs.tasks.pending.wake-interval", TimeSpan.FromSeconds(2)),
        Math.Max(1, config.GetInt("jobs.tasks.pending.wake-batch", 500)));

    /// <summary>The index needs a journal that applies index operations in the event's own write: the Redis journal.</summary>
    public static bool UsesIndex(Akka.Configuration.Config config)
    {
        var restartFrom = config.GetString("jobs.tasks.pending.restart-from", "index");
        if (restartFrom is not ("index" or "remember-entities"))
            throw new Akka.Configuration.ConfigurationException(
                $"jobs.tasks.pending.restart-from must be 'index' or 'remember-entities', not '{restartFrom}'");
        return restartFrom == "index" && config.GetString("jobs.persistence.journal", "sqlite") == "redis";
    }
}
