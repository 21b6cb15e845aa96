using System.Runtime.CompilerServices;
using Akka.Actor;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis;

/// <summary>
/// Reads the indexes that <see cref="Indexed"/> events write through the Redis journal, across every partition
/// (an index lives in the partition of each event that wrote it). Cheap and incremental: sets are scanned (SSCAN,
/// no O(n) call), sorted sets read a bounded range per partition. Writes go through the journal only.
/// </summary>
public sealed class RedisJournalIndexes
{
    private readonly RedisPlugin _redis;

    public RedisJournalIndexes(ActorSystem system, string journalPath = "akka.persistence.journal.redis")
    {
        _redis = new RedisPlugin(system, system.Settings.Config.GetConfig(journalPath));
    }

    /// <summary>Every member of the set index <paramref name="index"/> (e.g. <see cref="JournalIndexes.Pending"/>), partition by partition.</summary>
    public async IAsyncEnumerable<string> SetMembersAsync(string index, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var database = await _redis.DatabaseAsync().ConfigureAwait(false);
        for (var p = 0; p < _redis.Keys.Partitions; p++)
        {
            await foreach (var member in database.SetScanAsync(_redis.Keys.SetIndex(p, index), pageSize: 500).WithCancellation(cancellationToken).ConfigureAwait(false))
                yield return member!;
        }
    }

    /// <summary>Those of the set indexes <paramref name="indexes"/> that have a member in any partition (one EXISTS per key, pipelined).</summary>
    public async Task<IReadOnlyList<string>> NonEmptySetsAsync(IReadOnlyList<string> indexes)
    {
        var database = await _redis.DatabaseAsync().ConfigureAwait(false);
        var found = await Task.WhenAll(indexes.Select(async index =>
        {
            var exists = await Task.WhenAll(Enumerable.Range(0, _redis.Keys.Partitions)
                .Select(p => database.KeyExistsAsync(_redis.Keys.SetIndex(p, index)))).ConfigureAwait(false);
            return exists.Any(e => e) ? index : null;
        })).ConfigureAwait(false);
        return found.OfType<string>().ToArray();
    }

    /// <summary>
    /// The members of the sorted-set index <paramref name="index"/> with a score up to <paramref name="maxScore"/>,
    /// lowest first, at most <paramref name="count"/> (e.g. the persistence ids of <see cref="JournalIndexes.Expiry"/>
    /// due by now: pass the time in Unix milliseconds).
    /// </summary>
    public async Task<IReadOnlyList<(string Member, double Score)>> SortedSetRangeAsync(string index, double maxScore, int count)
    {
        var database = await _redis.DatabaseAsync().ConfigureAwait(false);
        var pages = await Task.WhenAll(Enumerable.Range(0, _redis.Keys.Partitions).Select(p =>
            database.SortedSetRangeByScoreWithScoresAsync(_redis.Keys.SortedSetIndex(p, index), double.NegativeInfinity, maxScore, take: count))).ConfigureAwait(false);
        return pages.SelectMany(page => page).OrderBy(e => e.Score).Take(count).Select(e => ((string)e.Element!, e.Score)).ToArray();
    }
}
