namespace Jobs.Actors.Persistence;

/// <summary>
/// An event with index operations to apply in the same atomic write: what an event adapter returns (around the
/// event, or around a <see cref="Akka.Persistence.Journal.Tagged"/>, or inside one) when the event changes an index,
/// e.g. a task accepted joins <see cref="JournalIndexes.Pending"/> and a finished one leaves it. The journal stores
/// the event as if the wrapper were not there. Only the Redis journal understands it: bind such an adapter on
/// <c>akka.persistence.journal.redis</c> only (Akka.Persistence.Sql would store the wrapper as the payload).
/// </summary>
public sealed record Indexed(object Payload, IReadOnlyList<IndexOperation> Operations);

public enum IndexOperationKind
{
    AddToSet,
    RemoveFromSet,
    AddToSortedSet,
    RemoveFromSortedSet,
}

/// <summary>
/// One change to a named index: a set of members, or a sorted set of members by score. A set index and a sorted-set
/// index of the same name are two different indexes. The index lives beside the event's persistence id (on Redis, in
/// its partition), so reading an index means reading it in every partition.
/// </summary>
public sealed record IndexOperation(IndexOperationKind Kind, string Index, string Member, double Score = 0)
{
    public static IndexOperation AddToSet(string index, string member) => new(IndexOperationKind.AddToSet, index, member);

    public static IndexOperation RemoveFromSet(string index, string member) => new(IndexOperationKind.RemoveFromSet, index, member);

    public static IndexOperation AddToSortedSet(string index, string member, double score) => new(IndexOperationKind.AddToSortedSet, index, member, score);

    public static IndexOperation RemoveFromSortedSet(string index, string member) => new(IndexOperationKind.RemoveFromSortedSet, index, member);

    public bool IsSortedSet => Kind is IndexOperationKind.AddToSortedSet or IndexOperationKind.RemoveFromSortedSet;

    /// <summary>Null when the operation can be applied, else why not (so a bad one rejects only its own write).</summary>
    public string? Problem =>
        string.IsNullOrEmpty(Index) ? "an index operation names no index"
        : Member is null ? $"an index operation on '{Index}' has no member"
        : Kind == IndexOperationKind.AddToSortedSet && !double.IsFinite(Score) ? $"the score {Score} of '{Member}' in '{Index}' is not a finite number"
        : null;
}

/// <summary>The indexes the task layer keeps with its events (written through <see cref="Indexed"/>).</summary>
public static class JournalIndexes
{
    /// <summary>
    /// Sorted set: persistence id → the time (Unix epoch milliseconds) after which it may be purged. A purge
    /// (<see cref="PurgePersistenceIds"/>) removes the id from it along with its events.
    /// </summary>
    public const string Expiry = "expiry";

    /// <summary>Set: the ids of the unfinished entities of shard <paramref name="shardId"/>.</summary>
    public static string Pending(string shardId) => "pending:" + shardId;
}

/// <summary>
/// Tells the journal to remove these persistence ids entirely: events, highest sequence number, snapshots, the
/// persistence-id entry and the <see cref="JournalIndexes.Expiry"/> entry. Idempotent (an unknown or already purged
/// id is fine). Ordered after every write the journal received before it. Answered to the sender with
/// <see cref="PersistenceIdsPurged"/> or <see cref="PurgePersistenceIdsFailed"/>. Tag entries stay until the tag
/// streams are trimmed by age; queries skip the events they no longer find. Keep a request to a few hundred ids.
/// </summary>
public sealed record PurgePersistenceIds(IReadOnlyList<string> PersistenceIds);

public sealed record PersistenceIdsPurged(IReadOnlyList<string> PersistenceIds);

/// <summary>The purge may have been applied in part (for some partitions); sending it again is safe.</summary>
public sealed record PurgePersistenceIdsFailed(IReadOnlyList<string> PersistenceIds, Exception Cause);
