using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis.Journal;

/// <summary>
/// An Akka.Persistence journal on Redis. Each <see cref="AtomicWrite"/> is one Lua script, so it is stored
/// entirely or not at all; the writes of one batch are pipelined on the shared connection and awaited together.
/// A payload that does not serialize rejects its own write only; a Redis error fails the batch (the circuit
/// breaker counts it). Key layout: <see cref="RedisKeys"/>.
/// </summary>
public sealed class RedisJournal : AsyncWriteJournal
{
    /// <summary>
    /// KEYS: events, highest, ids, idlog, then one key per tag. ARGV: pid, highest, channel, event count,
    /// (score, member) per event, tag-entry count, (index into KEYS, "seq:pid") per tag entry.
    /// A sequence number at or below the stored highest means a second writer of the same persistence id (a stale
    /// node after a partition): the write fails, as a SQL journal's primary key would make it fail.
    /// </summary>
    private const string WriteScript = """
        local n = tonumber(ARGV[4])
        local high = tonumber(redis.call('GET', KEYS[2]) or '0')
        if tonumber(ARGV[5]) <= high then
          return redis.error_reply('sequence number ' .. ARGV[5] .. ' of ' .. ARGV[1] .. ' is already written (highest ' .. high .. '): another writer is active')
        end
        local i = 5
        for e = 1, n do
          redis.call('ZADD', KEYS[1], ARGV[i], ARGV[i + 1])
          i = i + 2
        end
        if tonumber(ARGV[2]) > high then redis.call('SET', KEYS[2], ARGV[2]) end
        if redis.call('SADD', KEYS[3], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[4], ARGV[1]) end
        local m = tonumber(ARGV[i])
        i = i + 1
        for t = 1, m do
          redis.call('RPUSH', KEYS[tonumber(ARGV[i])], ARGV[i + 1])
          i = i + 2
        end
        redis.call('PUBLISH', ARGV[3], ARGV[1])
        return n
        """;

    private readonly RedisPlugin _redis;
    private readonly EventRecords _records;

    public RedisJournal(Akka.Configuration.Config config)
    {
        _redis = new RedisPlugin(Context.System, config);
        _records = new EventRecords(Context.System);
    }

    private Task<IDatabase> DatabaseAsync() => _redis.DatabaseAsync();

    protected override async Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var results = new List<Exception?>();
        var writes = new List<Task>();
        foreach (var write in messages)
        {
            try
            {
                var (keys, values) = Prepare(write);
                writes.Add(database.ScriptEvaluateAsync(WriteScript, keys, values));
                results.Add(null);
            }
            catch (Exception e) when (e is not RedisException)
            {
                // The payload would not serialize: only this write is rejected, the actor keeps running.
                results.Add(e);
            }
        }
        await Task.WhenAll(writes).ConfigureAwait(false);
        return results.ToImmutableList();
    }

    private (RedisKey[] Keys, RedisValue[] Values) Prepare(AtomicWrite write)
    {
        var events = (IImmutableList<IPersistentRepresentation>)write.Payload;
        var keys = new List<RedisKey>
        {
            _redis.Keys.Events(write.PersistenceId), _redis.Keys.Highest(write.PersistenceId), _redis.Keys.PersistenceIds, _redis.Keys.PersistenceIdLog,
        };
        var values = new List<RedisValue> { write.PersistenceId, write.HighestSequenceNr, _redis.Keys.Notifications.ToString(), events.Count };
        var tags = new List<RedisValue>();
        foreach (var representation in events)
        {
            var (record, eventTags) = _records.ToBinary(representation);
            values.Add(representation.SequenceNr);
            values.Add(record);
            foreach (var tag in eventTags)
            {
                keys.Add(_redis.Keys.Tag(tag));
                tags.Add(keys.Count);
                tags.Add($"{representation.SequenceNr}:{representation.PersistenceId}");
            }
        }
        values.Add(tags.Count / 2);
        values.AddRange(tags);
        return (keys.ToArray(), values.ToArray());
    }

    public override async Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr, long toSequenceNr,
        long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var key = _redis.Keys.Events(persistenceId);
        var from = (double)fromSequenceNr;
        long delivered = 0;
        // StackExchange.Redis swaps a reversed range, so the loop must stop before from passes to.
        while (delivered < max && from <= toSequenceNr)
        {
            var take = (int)Math.Min(_redis.Settings.ReplayPageSize, max - delivered);
            var page = await database.SortedSetRangeByScoreWithScoresAsync(key, from, toSequenceNr, take: take).ConfigureAwait(false);
            foreach (var entry in page)
            {
                recoveryCallback(_records.FromBinary(entry.Element!));
                delivered++;
            }
            if (page.Length < take)
                return;
            from = page[^1].Score + 1;
        }
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        var highest = await database.StringGetAsync(_redis.Keys.Highest(persistenceId)).ConfigureAwait(false);
        return highest.HasValue ? (long)highest : 0L;
    }

    protected override async Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        // The highest sequence number lives in its own key, so it survives this.
        await database.SortedSetRemoveRangeByScoreAsync(_redis.Keys.Events(persistenceId), double.NegativeInfinity, toSequenceNr).ConfigureAwait(false);
    }
}
