using Akka.Cluster.Sharding;

namespace Jobs.Actors.Hosting;

/// <summary>
/// Routes by an id with a hash that is the same in every process. <c>string.GetHashCode</c> is randomized per
/// process in .NET, so two nodes (or one node before and after a restart) would disagree about shard ids.
/// </summary>
public sealed class StableMessageExtractor(int maxShards, Func<object, string?> entityIdOf) : IMessageExtractor
{
    public string? EntityId(object message) => entityIdOf(message);

    public object EntityMessage(object message) => message;

    public string ShardId(object message) => ShardId(EntityId(message) ?? "", message);

    public string ShardId(string entityId, object? messageHint = null) =>
        entityId.StartsWith(ShardWakerPrefix, StringComparison.Ordinal) ? entityId[ShardWakerPrefix.Length..] : (Fnv1a(entityId) % (uint)maxShards).ToString();

    /// <summary>
    /// The id of the entity that lives in shard <paramref name="shardId"/> whatever the hash (the task shards' pending
    /// waker). '!' is in no task, canvas or queue id (<see cref="Tasks.Identifiers"/>), so no real entity has such an id.
    /// </summary>
    public static string ShardWakerId(string shardId) => ShardWakerPrefix + shardId;

    public static bool IsShardWaker(string entityId, out string shardId)
    {
        var waker = entityId.StartsWith(ShardWakerPrefix, StringComparison.Ordinal);
        shardId = waker ? entityId[ShardWakerPrefix.Length..] : "";
        return waker;
    }

    private const string ShardWakerPrefix = "!shard-waker:";

    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash ^= c;
            hash *= 16777619u;
        }
        return hash;
    }
}
