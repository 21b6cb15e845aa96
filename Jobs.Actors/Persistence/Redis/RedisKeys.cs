using System.Text;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis;

/// <summary>
/// Every Redis key and channel the plugin uses, in one place. A journal has <see cref="Partitions"/> partitions
/// (fixed for its life, like sharding's number of shards); a persistence id belongs to partition
/// FNV-1a(UTF-8 pid) mod P, and every key of partition p carries the hash tag <c>{p}</c>, so every script the
/// plugin runs touches one Redis Cluster slot and P &gt; 1 can spread a journal over a cluster. With the
/// default prefix <c>jobs:</c>:
/// <code>
/// jobs:{p}:j:{pid}       list        the events, oldest first (element: sequence number ‖ record, see EventRecords)
/// jobs:{p}:jh:{pid}      string      the highest sequence number, written only by a delete that removes every event
///                                    (otherwise the last element's is the highest); gone on purge
/// jobs:{p}:s:{pid}       sorted set  snapshots, score = sequence number (member: see RedisSnapshotStore)
/// jobs:{p}:ids           sorted set  pid → order of first write (from jobs:{p}:idseq); offsets of PersistenceIds
/// jobs:{p}:idseq         string      the partition's counter of first writes; never reused, so a removed pid
///                                    leaves no gap a reader could fall into
/// jobs:{p}:tag:{tag}     stream      {p: pid, s: seq} per tagged event in commit order; the entry ID is the
///                                    offset (time-based, so XTRIM MINID trims by age)
/// jobs:{p}:set:{name}    set         an index written by IndexOperation (pending:{shard}: unfinished ids)
/// jobs:{p}:zset:{name}   sorted set  an index written by IndexOperation (expiry: pid → due time, epoch ms)
/// jobs:layout            string      "2 partitions=P": the layout this journal was written with
/// jobs:events            pub/sub     the partition number, once per batch that wrote, so live queries wake
/// </code>
/// Persistence ids, tags and index names are used verbatim after the hash tag: only the first <c>{…}</c> of a key
/// decides its slot, so braces in them are harmless. The prefix itself must not contain braces.
/// </summary>
public sealed class RedisKeys
{
    /// <summary>The layout this class describes, stored in <see cref="Layout"/>.</summary>
    public const int LayoutVersion = 2;

    private readonly string[] _partitionPrefixes;

    public RedisKeys(string prefix, int partitions)
    {
        if (prefix.Contains('{') || prefix.Contains('}'))
            throw new ArgumentException($"the Redis key prefix '{prefix}' contains a brace; braces are reserved for the partition's hash tag", nameof(prefix));
        if (partitions is < 1 or > 16384)
            throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "a Redis journal has 1 to 16384 partitions (Redis Cluster has 16384 slots)");
        Prefix = prefix;
        Partitions = partitions;
        _partitionPrefixes = Enumerable.Range(0, partitions).Select(p => $"{prefix}{{{p}}}:").ToArray();
    }

    public string Prefix { get; }

    public int Partitions { get; }

    /// <summary>The value of <see cref="Layout"/> for this layout and partition count.</summary>
    public string LayoutDescription => $"{LayoutVersion} partitions={Partitions}";

    /// <summary>FNV-1a of the UTF-8 bytes mod <see cref="Partitions"/>: the same in every process and version.</summary>
    public int PartitionOf(string persistenceId)
    {
        if (Partitions == 1)
            return 0;
        var length = Encoding.UTF8.GetMaxByteCount(persistenceId.Length);
        Span<byte> bytes = length <= 512 ? stackalloc byte[length] : new byte[length];
        var hash = 2166136261u;
        foreach (var b in bytes[..Encoding.UTF8.GetBytes(persistenceId, bytes)])
        {
            hash ^= b;
            hash *= 16777619u;
        }
        return (int)(hash % (uint)Partitions);
    }

    /// <summary>"jobs:{p}:", the start of every key of partition <paramref name="partition"/>.</summary>
    public string PartitionPrefix(int partition) => _partitionPrefixes[partition];

    public RedisKey Events(string persistenceId) => Events(PartitionOf(persistenceId), persistenceId);

    public RedisKey Events(int partition, string persistenceId) => EventsPrefix(partition) + persistenceId;

    /// <summary>"jobs:{p}:j:": scripts that reach a pid's events through the partition's hash tag append the pid.</summary>
    public string EventsPrefix(int partition) => _partitionPrefixes[partition] + "j:";

    public RedisKey Highest(string persistenceId) => Highest(PartitionOf(persistenceId), persistenceId);

    public RedisKey Highest(int partition, string persistenceId) => _partitionPrefixes[partition] + "jh:" + persistenceId;

    public RedisKey Snapshots(string persistenceId) => Snapshots(PartitionOf(persistenceId), persistenceId);

    public RedisKey Snapshots(int partition, string persistenceId) => _partitionPrefixes[partition] + "s:" + persistenceId;

    public RedisKey PersistenceIds(int partition) => _partitionPrefixes[partition] + "ids";

    public RedisKey PersistenceIdCounter(int partition) => _partitionPrefixes[partition] + "idseq";

    public RedisKey Tag(int partition, string tag) => _partitionPrefixes[partition] + "tag:" + tag;

    public RedisKey SetIndex(int partition, string index) => _partitionPrefixes[partition] + "set:" + index;

    public RedisKey SortedSetIndex(int partition, string index) => _partitionPrefixes[partition] + "zset:" + index;

    public RedisKey Layout => Prefix + "layout";

    /// <summary>The first layout's persistence-id set and log: present only in a journal this version cannot read.</summary>
    public IReadOnlyList<RedisKey> FirstLayoutKeys => [Prefix + "ids", Prefix + "idlog"];

    public RedisChannel Notifications => RedisChannel.Literal(Prefix + "events");
}
