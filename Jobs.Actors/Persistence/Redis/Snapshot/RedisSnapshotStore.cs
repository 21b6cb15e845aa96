using System.Buffers.Binary;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Akka.Serialization;
using StackExchange.Redis;
using SnapshotEnvelope = Akka.Persistence.Serialization.Snapshot;

namespace Jobs.Actors.Persistence.Redis.Snapshot;

/// <summary>
/// Snapshots in one sorted set per persistence id (score = sequence number). A record is the snapshot's
/// timestamp (8 bytes, UTC ticks) followed by the snapshot as Akka's snapshot serializer writes it.
/// </summary>
public sealed class RedisSnapshotStore : SnapshotStore
{
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
        // Newest first, one at a time: older snapshots (a big canvas keeps its tree in one) are read only if needed.
        for (var skip = 0L; ; skip++)
        {
            var candidates = await database.SortedSetRangeByScoreWithScoresAsync(_redis.Keys.Snapshots(persistenceId),
                criteria.MinSequenceNr, criteria.MaxSequenceNr, order: Order.Descending, skip: skip, take: 1).ConfigureAwait(false);
            if (candidates.Length == 0)
                return null;
            var (timestamp, data) = Read(candidates[0].Element!);
            if (Matches(criteria, timestamp))
                return new SelectedSnapshot(new SnapshotMetadata(persistenceId, (long)candidates[0].Score, timestamp), data);
        }
    }

    protected override async Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var record = Write(metadata.Timestamp, snapshot);
        var database = await DatabaseAsync().ConfigureAwait(false);
        var key = _redis.Keys.Snapshots(metadata.PersistenceId);
        var transaction = database.CreateTransaction();
        _ = transaction.SortedSetRemoveRangeByScoreAsync(key, metadata.SequenceNr, metadata.SequenceNr);
        _ = transaction.SortedSetAddAsync(key, record, metadata.SequenceNr);
        if (!await transaction.ExecuteAsync().ConfigureAwait(false))
            throw new RedisException($"the snapshot of {metadata.PersistenceId} at {metadata.SequenceNr} was not stored");
    }

    protected override async Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        await database.SortedSetRemoveRangeByScoreAsync(_redis.Keys.Snapshots(metadata.PersistenceId), metadata.SequenceNr, metadata.SequenceNr)
            .ConfigureAwait(false);
    }

    protected override async Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var key = _redis.Keys.Snapshots(persistenceId);
        var candidates = await database.SortedSetRangeByScoreAsync(key, criteria.MinSequenceNr, criteria.MaxSequenceNr).ConfigureAwait(false);
        var doomed = candidates.Where(c => Matches(criteria, Read(c!).Timestamp)).ToArray();
        if (doomed.Length > 0)
            await database.SortedSetRemoveAsync(key, doomed).ConfigureAwait(false);
    }

    private static bool Matches(SnapshotSelectionCriteria criteria, DateTime timestamp) =>
        timestamp <= criteria.MaxTimeStamp && (criteria.MinTimestamp is not { } min || timestamp >= min);

    private byte[] Write(DateTime timestamp, object snapshot)
    {
        var data = _serializer.ToBinary(new SnapshotEnvelope(snapshot));
        var record = new byte[8 + data.Length];
        BinaryPrimitives.WriteInt64LittleEndian(record, timestamp.ToUniversalTime().Ticks);
        data.CopyTo(record, 8);
        return record;
    }

    private (DateTime Timestamp, object Data) Read(byte[] record)
    {
        var timestamp = new DateTime(BinaryPrimitives.ReadInt64LittleEndian(record), DateTimeKind.Utc);
        var envelope = (SnapshotEnvelope)_serializer.FromBinary(record[8..], typeof(SnapshotEnvelope));
        return (timestamp, envelope.Data);
    }
}
