using System.Buffers.Binary;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Akka.Serialization;
using StackExchange.Redis;
using SnapshotEnvelope = Akka.Persistence.Serialization.Snapshot;

namespace Jobs.Actors.Persistence.Redis.Snapshot;

/// <summary>
/// Snapshots in one sorted set per persistence id (score = sequence number), in the id's partition
/// (<see cref="RedisKeys"/>). A record is the snapshot's timestamp (8 bytes, UTC ticks, big-endian) followed by the
/// snapshot as Akka's snapshot serializer writes it. Loads and criteria deletes compare timestamps inside Redis, so
/// only the chosen snapshot crosses the network and none is deserialized to be looked at.
/// </summary>
public sealed class RedisSnapshotStore : SnapshotStore
{
    // ARGV of both scripts: min and max sequence number, then the time bounds as (high, low) 32-bit halves of the
    // ticks, '' when open (Lua numbers are doubles: ticks do not fit in one exactly). struct reads the record's halves.
    private const string Matches = """
        local min_high, min_low, max_high, max_low = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
        local function matches(record)
          local high, low = struct.unpack('>I4I4', record)
          if max_high and (high > max_high or (high == max_high and low > max_low)) then return false end
          if min_high and (high < min_high or (high == min_high and low < min_low)) then return false end
          return true
        end
        """;

    /// <summary>The newest snapshot in the range that matches the time bounds: {sequence number, record}, or {}.</summary>
    private const string LoadScript = "#!lua flags=no-writes\n" + Matches + "\n" + """
        local offset = 0
        while true do
          local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], ARGV[1], 'WITHSCORES', 'LIMIT', offset, 16)
          if #page == 0 then return {} end
          for i = 1, #page, 2 do
            if matches(page[i]) then return {page[i + 1], page[i]} end
          end
          offset = offset + 16
        end
        """;

    /// <summary>Removes every snapshot in the range that matches the time bounds; a range without time bounds in one command.</summary>
    private const string DeleteScript = "#!lua\n" + Matches + "\n" + """
        if not max_high and not min_high then return redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2]) end
        local removed = 0
        for _, record in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2])) do
          if matches(record) then
            redis.call('ZREM', KEYS[1], record)
            removed = removed + 1
          end
        end
        return removed
        """;

    private readonly RedisPlugin _redis;
    private readonly Serializer _serializer;

    public RedisSnapshotStore(Akka.Configuration.Config config)
    {
        _redis = new RedisPlugin(Context.System, config);
        _serializer = Context.System.Serialization.FindSerializerForType(typeof(SnapshotEnvelope));
    }

    private Task<IDatabase> DatabaseAsync() => _redis.DatabaseAsync();

    protected override async Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var found = (RedisResult[])(await database.ScriptEvaluateAsync(LoadScript, [_redis.Keys.Snapshots(persistenceId)], Bounds(criteria)).ConfigureAwait(false))!;
        if (found.Length == 0)
            return null;
        var record = (byte[])found[1]!;
        var envelope = (SnapshotEnvelope)_serializer.FromBinary(record[8..], typeof(SnapshotEnvelope));
        return new SelectedSnapshot(new SnapshotMetadata(persistenceId, (long)found[0], Timestamp(record)), envelope.Data);
    }

    protected override async Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var record = Write(metadata.Timestamp, snapshot);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var key = _redis.Keys.Snapshots(metadata.PersistenceId);
        var transaction = database.CreateTransaction();
        _ = transaction.SortedSetRemoveRangeByScoreAsync(key, metadata.SequenceNr, metadata.SequenceNr);
        _ = transaction.SortedSetAddAsync(key, record, metadata.SequenceNr);
        if (!await transaction.ExecuteAsync(CommandFlags.DemandMaster).ConfigureAwait(false))
            throw new RedisException($"the snapshot of {metadata.PersistenceId} at {metadata.SequenceNr} was not stored");
    }

    protected override async Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        await database.SortedSetRemoveRangeByScoreAsync(_redis.Keys.Snapshots(metadata.PersistenceId), metadata.SequenceNr, metadata.SequenceNr,
            flags: CommandFlags.DemandMaster).ConfigureAwait(false);
    }

    protected override async Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        await database.ScriptEvaluateAsync(DeleteScript, [_redis.Keys.Snapshots(persistenceId)], Bounds(criteria), CommandFlags.DemandMaster).ConfigureAwait(false);
    }

    /// <summary>The scripts' ARGV for <paramref name="criteria"/>; the smallest and largest timestamps are no bounds at all.</summary>
    private static RedisValue[] Bounds(SnapshotSelectionCriteria criteria)
    {
        var (minHigh, minLow) = criteria.MinTimestamp is { } min && min != DateTime.MinValue ? Halves(min.Ticks) : (RedisValue.EmptyString, RedisValue.EmptyString);
        var (maxHigh, maxLow) = criteria.MaxTimeStamp == DateTime.MaxValue ? (RedisValue.EmptyString, RedisValue.EmptyString) : Halves(criteria.MaxTimeStamp.Ticks);
        return [criteria.MinSequenceNr, criteria.MaxSequenceNr, minHigh, minLow, maxHigh, maxLow];
    }

    private static (RedisValue High, RedisValue Low) Halves(long ticks) => ((ulong)ticks >> 32, (ulong)ticks & 0xFFFFFFFF);

    private static DateTime Timestamp(byte[] record) => new(BinaryPrimitives.ReadInt64BigEndian(record), DateTimeKind.Utc);

    private byte[] Write(DateTime timestamp, object snapshot)
    {
        var data = _serializer.ToBinary(new SnapshotEnvelope(snapshot));
        var record = new byte[8 + data.Length];
        BinaryPrimitives.WriteInt64BigEndian(record, timestamp.ToUniversalTime().Ticks);
        data.CopyTo(record, 8);
        return record;
    }
}
