using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.Util;
using Jobs.Actors.Persistence.Redis.Journal;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis.Query;

/// <summary>
/// Persistence queries over the Redis journal. Current queries page through the keys once; live queries page
/// until they catch up, then sleep until the journal publishes a write on <see cref="RedisKeys.Notifications"/>
/// (or, should a notification be missed, the refresh interval passes) — they never poll Redis in a loop.
/// Offsets: <see cref="Sequence"/> of the sequence number (by persistence id), or of the 1-based position in
/// the tag's list (by tag), exclusive as in every Akka.NET read journal.
/// </summary>
public sealed class RedisReadJournal :
    IPersistenceIdsQuery, ICurrentPersistenceIdsQuery,
    IEventsByPersistenceIdQuery, ICurrentEventsByPersistenceIdQuery,
    IEventsByTagQuery, ICurrentEventsByTagQuery
{
    public const string Identifier = "akka.persistence.query.journal.redis";

    private readonly RedisPlugin _redis;
    private readonly EventRecords _records;
    private readonly Lazy<Task> _subscription;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RedisReadJournal(ExtendedActorSystem system, Config config)
    {
        _redis = new RedisPlugin(system, config);
        _records = new EventRecords(system);
        _subscription = new Lazy<Task>(SubscribeAsync);
    }

    private Task<IDatabase> DatabaseAsync() => _redis.DatabaseAsync();

    private async Task SubscribeAsync()
    {
        var connection = await _redis.ConnectionAsync().ConfigureAwait(false);
        await connection.GetSubscriber().SubscribeAsync(_redis.Keys.Notifications,
            (_, _) => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult())
            .ConfigureAwait(false);
    }

    /// <summary>Waits for the next write anywhere in the journal, or the refresh interval.</summary>
    private async Task WaitForWriteAsync()
    {
        var changed = Volatile.Read(ref _changed).Task;
        await Task.WhenAny(changed, Task.Delay(_redis.Settings.RefreshInterval)).ConfigureAwait(false);
    }

    public Source<string, NotUsed> PersistenceIds() => Ids(live: true);

    public Source<string, NotUsed> CurrentPersistenceIds() => Ids(live: false);

    private Source<string, NotUsed> Ids(bool live) =>
        Pages<long, string>(0L, async position =>
        {
            var database = await DatabaseAsync().ConfigureAwait(false);
            var ids = await database.ListRangeAsync(_redis.Keys.PersistenceIdLog, position, position + _redis.Settings.ReplayPageSize - 1).ConfigureAwait(false);
            return (position + ids.Length, ids.Select(id => id.ToString()).ToArray());
        }, live);

    public Source<EventEnvelope, NotUsed> EventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        ByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, live: true);

    public Source<EventEnvelope, NotUsed> CurrentEventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        ByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, live: false);

    private Source<EventEnvelope, NotUsed> ByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr, bool live) =>
        Pages<long, EventEnvelope>(Math.Max(1, fromSequenceNr), async next =>
        {
            if (next > toSequenceNr)
                return (next, null);
            var database = await DatabaseAsync().ConfigureAwait(false);
            var page = await database.SortedSetRangeByScoreWithScoresAsync(_redis.Keys.Events(persistenceId), next, toSequenceNr,
                take: _redis.Settings.ReplayPageSize).ConfigureAwait(false);
            var envelopes = page.Select(entry => Envelope(new Sequence((long)entry.Score), _records.FromBinary(entry.Element!))).ToArray();
            return (page.Length == 0 ? next : (long)page[^1].Score + 1, envelopes);
        }, live);

    public Source<EventEnvelope, NotUsed> EventsByTag(string tag, Offset? offset = null) => ByTag(tag, offset, live: true);

    public Source<EventEnvelope, NotUsed> CurrentEventsByTag(string tag, Offset? offset = null) => ByTag(tag, offset, live: false);

    private Source<EventEnvelope, NotUsed> ByTag(string tag, Offset? offset, bool live)
    {
        var start = offset switch
        {
            null or NoOffset => 0L,
            Sequence sequence => sequence.Value,
            _ => throw new ArgumentException($"the Redis read journal takes Sequence offsets, not {offset.GetType().Name}", nameof(offset)),
        };
        return Pages<long, EventEnvelope>(start, async position =>
        {
            var database = await DatabaseAsync().ConfigureAwait(false);
            var entries = await database.ListRangeAsync(_redis.Keys.Tag(tag), position, position + _redis.Settings.ReplayPageSize - 1).ConfigureAwait(false);
            var lookups = entries.Select(entry =>
            {
                var text = entry.ToString();
                var colon = text.IndexOf(':');
                var sequenceNr = long.Parse(text[..colon]);
                return database.SortedSetRangeByScoreAsync(_redis.Keys.Events(text[(colon + 1)..]), sequenceNr, sequenceNr, take: 1);
            }).ToArray();
            var records = await Task.WhenAll(lookups).ConfigureAwait(false);
            var envelopes = new List<EventEnvelope>(records.Length);
            for (var i = 0; i < records.Length; i++)
            {
                // A deleted event keeps its place in the tag's list; it is skipped, and its offset with it.
                if (records[i] is [var record, ..])
                    envelopes.Add(Envelope(new Sequence(position + i + 1), _records.FromBinary(record!)));
            }
            return (position + entries.Length, envelopes);
        }, live);
    }

    private static EventEnvelope Envelope(Offset offset, Akka.Persistence.IPersistentRepresentation representation) =>
        new(offset, representation.PersistenceId, representation.SequenceNr, representation.Payload, representation.Timestamp, []);

    /// <summary>
    /// Pages from <paramref name="start"/>: <paramref name="fetch"/> returns the next state and a page (null ends
    /// the stream). An empty page ends a current query; a live one waits for the next write and asks again.
    /// </summary>
    private Source<T, NotUsed> Pages<TState, T>(TState start, Func<TState, Task<(TState Next, IReadOnlyList<T>? Page)>> fetch, bool live) =>
        Source.UnfoldAsync<TState, IReadOnlyList<T>>(start, async state =>
            {
                if (live)
                    await _subscription.Value.ConfigureAwait(false);
                var (next, page) = await fetch(state).ConfigureAwait(false);
                if (page is null)
                    return Option<(TState, IReadOnlyList<T>)>.None;
                if (page.Count == 0)
                {
                    if (!live)
                        return Option<(TState, IReadOnlyList<T>)>.None;
                    await WaitForWriteAsync().ConfigureAwait(false);
                }
                return Option<(TState, IReadOnlyList<T>)>.Create((next, page));
            })
            .SelectMany(page => page);
}

public sealed class RedisReadJournalProvider(ExtendedActorSystem system, Config config) : IReadJournalProvider
{
    public IReadJournal GetReadJournal() => new RedisReadJournal(system, config);
}
