using System.Globalization;
using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.Util;
using Jobs.Actors.Persistence.Redis.Journal;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis.Query;

/// <summary>
/// Persistence queries over the Redis journal (<see cref="RedisKeys"/>). Current queries read up to the end the
/// journal had when they started and stop there; live queries page until they catch up, then sleep until the journal
/// publishes a write on <see cref="RedisKeys.Notifications"/> (or, should a notification be missed or the
/// subscription be down, the refresh interval passes). A page whose entries are all deleted events is skipped, not
/// taken for the end.
/// <para>
/// Offsets: by persistence id, <see cref="Sequence"/> of the sequence number. By tag, the position in the tag's stream:
/// with one partition a <see cref="Sequence"/> of the entry ID's milliseconds × 10^6 + its sequence part (so
/// 1733086800123-5 is 1733086800123000005); with several, a <see cref="PartitionedOffset"/> with one such position per
/// partition. Offsets are exclusive, as in every Akka.NET read journal, and stay valid when older entries are trimmed
/// or events deleted or purged: the query resumes with the next entry still there.
/// </para>
/// </summary>
public sealed class RedisReadJournal :
    IPersistenceIdsQuery, ICurrentPersistenceIdsQuery,
    IEventsByPersistenceIdQuery, ICurrentEventsByPersistenceIdQuery,
    IEventsByTagQuery, ICurrentEventsByTagQuery, ICurrentTagEntriesQuery
{
    public const string Identifier = "akka.persistence.query.journal.redis";

    private readonly RedisPlugin _redis;
    private readonly RedisKeys _keys;
    private readonly EventRecords _records;
    private readonly ILoggingAdapter _log;
    private readonly object _gate = new();
    private Task? _subscription;
    private int _warned;
    private TaskCompletionSource _changed = NewSignal();

    public RedisReadJournal(ExtendedActorSystem system, Config config)
    {
        _redis = new RedisPlugin(system, config);
        _keys = _redis.Keys;
        _records = new EventRecords(system);
        _log = Logging.GetLogger(system, typeof(RedisReadJournal));
    }

    private int PageSize => _redis.Settings.ReplayPageSize;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// The next write's signal, taken before a live query fetches (a write between the fetch and the wait is not
    /// lost). The subscription is made on first use and made again if it failed; while it is down, live queries poll
    /// at the refresh interval instead of failing.
    /// </summary>
    private async Task<Task> NextWriteAsync()
    {
        Task subscription;
        lock (_gate)
        {
            if (_subscription is null || _subscription.IsFaulted || _subscription.IsCanceled)
                _subscription = SubscribeAsync();
            subscription = _subscription;
        }
        try
        {
            await subscription.ConfigureAwait(false);
            Volatile.Write(ref _warned, 0);
        }
        catch (Exception e)
        {
            if (Interlocked.Exchange(ref _warned, 1) == 0)
                _log.Warning("Redis read journal: no notifications ({0}); live queries poll every {1} until they are back", e.Message, _redis.Settings.RefreshInterval);
        }
        return Volatile.Read(ref _changed).Task;
    }

    private async Task SubscribeAsync()
    {
        var connection = await _redis.ConnectionAsync().ConfigureAwait(false);
        await connection.GetSubscriber().SubscribeAsync(_keys.Notifications,
            (_, _) => Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult()).ConfigureAwait(false);
    }

    public Source<string, NotUsed> PersistenceIds() => Ids(live: true);

    public Source<string, NotUsed> CurrentPersistenceIds() => Ids(live: false);

    /// <summary>Each partition's ids zset by first-write order, from after the last score read (stable across removals).</summary>
    private Source<string, NotUsed> Ids(bool live)
    {
        var start = new IdsCursor(new double[_keys.Partitions], live ? null : new double?[_keys.Partitions]);
        return Pages<IdsCursor, string>(start, async cursor =>
        {
            var database = await _redis.DatabaseAsync().ConfigureAwait(false);
            var ends = cursor.Ends is null ? null : (double?[])cursor.Ends.Clone();
            var ranges = new Task<SortedSetEntry[]>[_keys.Partitions];
            var counters = new Task<RedisValue>?[_keys.Partitions];
            for (var p = 0; p < _keys.Partitions; p++)
            {
                // Sent before the range on the same connection, so the bound is read first and clips what follows.
                if (ends is not null && ends[p] is null)
                    counters[p] = database.StringGetAsync(_keys.PersistenceIdCounter(p));
                ranges[p] = database.SortedSetRangeByScoreWithScoresAsync(_keys.PersistenceIds(p), cursor.After[p], double.PositiveInfinity,
                    Exclude.Start, take: PageSize);
            }
            await Task.WhenAll(ranges).ConfigureAwait(false);
            var after = (double[])cursor.After.Clone();
            var ids = new List<string>();
            var caughtUp = true;
            for (var p = 0; p < _keys.Partitions; p++)
            {
                if (counters[p] is { } counter)
                    ends![p] = (double?)await counter.ConfigureAwait(false) ?? 0;
                var page = ranges[p].Result;
                foreach (var entry in page)
                {
                    if (ends is not null && entry.Score > ends[p])
                        break;
                    ids.Add(entry.Element!);
                    after[p] = entry.Score;
                }
                if (page.Length == PageSize && (ends is null || after[p] < ends[p]))
                    caughtUp = false;
            }
            return (new IdsCursor(after, ends), (IReadOnlyList<string>)ids, caughtUp);
        }, live);
    }

    private sealed record IdsCursor(double[] After, double?[]? Ends);

    public Source<EventEnvelope, NotUsed> EventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        ByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, live: true);

    public Source<EventEnvelope, NotUsed> CurrentEventsByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr) =>
        ByPersistenceId(persistenceId, fromSequenceNr, toSequenceNr, live: false);

    private Source<EventEnvelope, NotUsed> ByPersistenceId(string persistenceId, long fromSequenceNr, long toSequenceNr, bool live)
    {
        // A current query ends at the highest sequence number it finds with its first page.
        var start = (Next: Math.Max(1, fromSequenceNr), To: toSequenceNr, BoundKnown: live);
        return Pages<(long Next, long To, bool BoundKnown), EventEnvelope>(start, async cursor =>
        {
            if (cursor.Next > cursor.To)
                return (cursor, null, true);
            var database = await _redis.DatabaseAsync().ConfigureAwait(false);
            var (highest, page) = await JournalScripts.ReadPageAsync(database, _keys, persistenceId, cursor.Next, cursor.To, PageSize).ConfigureAwait(false);
            var to = cursor.BoundKnown ? cursor.To : Math.Min(cursor.To, highest);
            var envelopes = new List<EventEnvelope>(page.Length);
            var next = cursor.Next;
            foreach (var element in page)
            {
                var representation = _records.FromBinary((byte[])element!);
                if (representation.SequenceNr > to)
                    break;
                envelopes.Add(Envelope(new Sequence(representation.SequenceNr), representation, null));
                next = representation.SequenceNr + 1;
            }
            return ((next, to, true), (IReadOnlyList<EventEnvelope>)envelopes, page.Length < PageSize || next > to);
        }, live);
    }

    public Source<EventEnvelope, NotUsed> EventsByTag(string tag, Offset? offset = null) => ByTag(tag, offset, live: true);

    public Source<EventEnvelope, NotUsed> CurrentEventsByTag(string tag, Offset? offset = null) => ByTag(tag, offset, live: false);

    private Source<EventEnvelope, NotUsed> ByTag(string tag, Offset? offset, bool live)
    {
        var eventPrefixes = Enumerable.Range(0, _keys.Partitions).Select(p => (RedisValue)_keys.EventsPrefix(p)).ToArray();
        var tags = new[] { tag };
        return TagPages<RedisValue, EventEnvelope>(tag, offset, live ? "+" : "",
            (database, stream, partition, after, last) => database.ScriptEvaluateAsync(JournalScripts.TagPage, [stream],
                [eventPrefixes[partition], after, last, PageSize]),
            2, (page, i) => (RedisValue)page[i + 1],
            // An event deleted or purged since it was tagged: skipped, and its offset passed with it.
            (at, _, record) => record.IsNullOrEmpty ? null : Envelope(at, _records.FromBinary((byte[])record!), tags),
            live);
    }

    public Source<TagEntry, NotUsed> CurrentTagEntries(string tag, Offset? offset, TimeSpan settle)
    {
        var settleMs = (long)Math.Max(0, settle.TotalMilliseconds);
        return TagPages<(string Pid, long Seq), TagEntry>(tag, offset, "",
            (database, stream, _, after, last) => database.ScriptEvaluateAsync(JournalScripts.TagEntries, [stream],
                [after, last, settleMs, PageSize]),
            3, (page, i) => (page[i + 1].ToString(), (long)page[i + 2]),
            (at, _, entry) => new TagEntry(at, entry.Pid, entry.Seq),
            live: false);
    }

    public async Task<IReadOnlyList<EventEnvelope>> EventsOfAsync(IReadOnlyList<TagEntry> entries)
    {
        if (entries.Count == 0)
            return [];
        var database = await _redis.DatabaseAsync().ConfigureAwait(false);
        var byPartition = entries.Select((entry, i) => (Entry: entry, Index: i)).GroupBy(e => _keys.PartitionOf(e.Entry.PersistenceId)).ToArray();
        var reads = byPartition.Select(group => database.ScriptEvaluateAsync(JournalScripts.EventsOf, [_keys.PersistenceIds(group.Key)],
            [(RedisValue)_keys.EventsPrefix(group.Key), .. group.SelectMany(e => new RedisValue[] { e.Entry.PersistenceId, e.Entry.SequenceNr })])).ToArray();
        await Task.WhenAll(reads).ConfigureAwait(false);
        var found = new EventEnvelope?[entries.Count];
        for (var g = 0; g < byPartition.Length; g++)
        {
            var elements = (RedisResult[])reads[g].Result!;
            var i = 0;
            foreach (var (entry, index) in byPartition[g])
            {
                var element = (RedisValue)elements[i++];
                if (!element.IsNullOrEmpty)
                    found[index] = Envelope(entry.Offset, _records.FromBinary((byte[])element!), []);
            }
        }
        return found.OfType<EventEnvelope>().ToArray();
    }

    /// <summary>
    /// Pages of a tag's streams, one per partition, merged in position order. <paramref name="fetch"/> reads one
    /// partition's page after an ID up to a last ID ('' on the first page: the script picks it and returns it first,
    /// '+' for none); each entry of the page is <paramref name="width"/> values, the first its ID, read by
    /// <paramref name="item"/>; <paramref name="emit"/> makes the result at the entry's offset, or null to pass it.
    /// </summary>
    private Source<T, NotUsed> TagPages<TItem, T>(string tag, Offset? offset, string firstLast,
        Func<IDatabase, RedisKey, int, string, string, Task<RedisResult>> fetch, int width, Func<RedisResult[], int, TItem> item,
        Func<Offset, int, TItem, T?> emit, bool live) where T : class
    {
        var partitions = _keys.Partitions;
        var after = offset switch
        {
            null or NoOffset => new long[partitions],
            Sequence { Value: 0 } => new long[partitions],
            Sequence sequence when partitions == 1 => [sequence.Value],
            PartitionedOffset partitioned when partitioned.Positions.Count == partitions => partitioned.Positions.ToArray(),
            _ => throw new ArgumentException(
                $"this Redis journal has {partitions} partition(s): its tag queries take {(partitions == 1 ? "Sequence" : $"PartitionedOffset offsets of {partitions} positions")} offsets, not {offset}",
                nameof(offset)),
        };
        var streams = Enumerable.Range(0, partitions).Select(p => _keys.Tag(p, tag)).ToArray();
        var start = new TagCursor(after, Enumerable.Repeat(firstLast, partitions).ToArray(), new bool[partitions]);
        return Pages<TagCursor, T>(start, async cursor =>
        {
            var database = await _redis.DatabaseAsync().ConfigureAwait(false);
            var pages = new Task<RedisResult>?[partitions];
            for (var p = 0; p < partitions; p++)
            {
                if (!cursor.Done[p])
                    pages[p] = fetch(database, streams[p], p, StreamId(cursor.After[p]), cursor.Last[p]);
            }
            var read = new List<(long Position, int Partition, TItem Item)>();
            var last = (string[])cursor.Last.Clone();
            var done = (bool[])cursor.Done.Clone();
            var caughtUp = true;
            for (var p = 0; p < partitions; p++)
            {
                if (pages[p] is null)
                    continue;
                var page = (RedisResult[])(await pages[p]!.ConfigureAwait(false))!;
                last[p] = page[0].ToString();
                var entries = (page.Length - 1) / width;
                for (var i = 1; i < page.Length; i += width)
                    read.Add((Position(page[i].ToString()), p, item(page, i)));
                if (entries < PageSize)
                    done[p] = !live;
                else
                    caughtUp = false;
            }
            if (partitions > 1)
                read.Sort((a, b) => a.Position.CompareTo(b.Position));
            var positions = (long[])cursor.After.Clone();
            var results = new List<T>(read.Count);
            foreach (var (position, partition, value) in read)
            {
                positions[partition] = position;
                Offset at = partitions == 1 ? new Sequence(position) : new PartitionedOffset(positions);
                if (emit(at, partition, value) is { } result)
                    results.Add(result);
            }
            return (new TagCursor(positions, last, done), (IReadOnlyList<T>)results, caughtUp);
        }, live);
    }

    private sealed record TagCursor(long[] After, string[] Last, bool[] Done);

    /// <summary>A stream entry ID as a position: milliseconds × 10^6 + sequence part (the write script keeps the latter below 10^6).</summary>
    internal static long Position(string streamId)
    {
        var dash = streamId.IndexOf('-');
        return long.Parse(streamId.AsSpan(0, dash), CultureInfo.InvariantCulture) * 1_000_000
            + long.Parse(streamId.AsSpan(dash + 1), CultureInfo.InvariantCulture);
    }

    /// <summary>The inverse of <see cref="Position"/>; '' for the start of the stream.</summary>
    internal static string StreamId(long position) =>
        position == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"{position / 1_000_000}-{position % 1_000_000}");

    private static EventEnvelope Envelope(Offset offset, Akka.Persistence.IPersistentRepresentation representation, string[]? tags) =>
        new(offset, representation.PersistenceId, representation.SequenceNr, representation.Payload, representation.Timestamp, tags ?? []);

    /// <summary>
    /// Pages from <paramref name="start"/>: <paramref name="fetch"/> returns the next cursor, a page (null: the stream
    /// is over), and whether it caught up (nothing more to read now). A page that is empty without having caught up
    /// (only deleted events) is followed at once. A current query ends once caught up; a live one then waits for the
    /// next write and asks again.
    /// </summary>
    private Source<T, NotUsed> Pages<TCursor, T>(TCursor start, Func<TCursor, Task<(TCursor Next, IReadOnlyList<T>? Page, bool CaughtUp)>> fetch, bool live) =>
        Source.UnfoldAsync<(TCursor Cursor, bool Ended), IReadOnlyList<T>>((start, false), async state =>
            {
                if (state.Ended)
                    return Option<((TCursor, bool), IReadOnlyList<T>)>.None;
                var cursor = state.Cursor;
                while (true)
                {
                    var nextWrite = live ? await NextWriteAsync().ConfigureAwait(false) : null;
                    var (next, page, caughtUp) = await fetch(cursor).ConfigureAwait(false);
                    if (page is null)
                        return Option<((TCursor, bool), IReadOnlyList<T>)>.None;
                    if (page.Count > 0)
                        return Option<((TCursor, bool), IReadOnlyList<T>)>.Create(((next, caughtUp && !live), page));
                    if (caughtUp && !live)
                        return Option<((TCursor, bool), IReadOnlyList<T>)>.None;
                    if (caughtUp)
                        await Task.WhenAny(nextWrite!, Task.Delay(_redis.Settings.RefreshInterval)).ConfigureAwait(false);
                    cursor = next;
                }
            })
            .SelectMany(page => page);
}

public sealed class RedisReadJournalProvider(ExtendedActorSystem system, Config config) : IReadJournalProvider
{
    public IReadJournal GetReadJournal() => new RedisReadJournal(system, config);
}
