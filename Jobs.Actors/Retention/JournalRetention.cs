using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Jobs.Actors.Persistence;
using Jobs.Actors.Persistence.Redis;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace Jobs.Actors.Retention;

/// <summary>
/// What retention needs of a journal: the persistence ids due by a time (from its expiry index, lowest due first),
/// a purge that removes ids entirely (events, snapshots, bookkeeping, expiry entry), and a periodic tidy-up.
/// </summary>
public interface IJournalRetention
{
    Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int count);

    Task PurgeAsync(IReadOnlyList<string> persistenceIds);

    /// <summary>Gives storage back (Redis: trims tag streams; SQLite: incremental vacuum); returns what it did.</summary>
    Task<string> MaintainAsync(DateTimeOffset now);

    /// <summary>The one for the node's journal (<c>akka.persistence.journal.plugin</c>, set from <c>jobs.persistence.journal</c>).</summary>
    public static IJournalRetention For(ActorSystem system, RetentionSettings settings)
    {
        var config = system.Settings.Config;
        return config.GetString("akka.persistence.journal.plugin", "") switch
        {
            "akka.persistence.journal.redis" => new RedisJournalRetention(system, settings),
            _ => new SqliteJournalRetention(config.GetString("jobs.persistence.sqlite.path", "./data/jobs.db"), settings),
        };
    }
}

/// <summary>
/// Redis: due ids from the journal's <see cref="JournalIndexes.Expiry"/> sorted set of every partition; purges go through
/// the journal actor (<see cref="PurgePersistenceIds"/>: one script per partition, ordered after every write it took);
/// tag streams are trimmed by age (XTRIM MINID, whose entry ids are times).
/// </summary>
public sealed class RedisJournalRetention : IJournalRetention
{
    private const string JournalPath = "akka.persistence.journal.redis";
    private readonly RedisJournalIndexes _indexes;
    private readonly RedisPlugin _redis;
    private readonly IActorRef _journal;
    private readonly RetentionSettings _settings;
    private readonly TimeSpan _callTimeout;

    public RedisJournalRetention(ActorSystem system, RetentionSettings settings)
    {
        var config = system.Settings.Config.GetConfig(JournalPath);
        _indexes = new RedisJournalIndexes(system, JournalPath);
        _redis = new RedisPlugin(system, config);
        _journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(JournalPath);
        _settings = settings;
        _callTimeout = config.GetTimeSpan("circuit-breaker.call-timeout", TimeSpan.FromSeconds(10)) * 2;
    }

    public async Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int count) =>
        (await _indexes.SortedSetRangeAsync(JournalIndexes.Expiry, now.ToUnixTimeMilliseconds(), count).ConfigureAwait(false))
        .Select(e => e.Member).ToArray();

    public async Task PurgeAsync(IReadOnlyList<string> persistenceIds)
    {
        var answer = await _journal.Ask<object>(new PurgePersistenceIds(persistenceIds), _callTimeout).ConfigureAwait(false);
        if (answer is PurgePersistenceIdsFailed failed)
            throw new InvalidOperationException($"the Redis journal could not purge {persistenceIds.Count} ids: {failed.Cause.Message}", failed.Cause);
    }

    public async Task<string> MaintainAsync(DateTimeOffset now)
    {
        if (_settings.TagRetention <= TimeSpan.Zero)
            return "tag streams kept";
        var database = await _redis.DatabaseAsync().ConfigureAwait(false);
        var minId = (now - _settings.TagRetention).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + "-0";
        long trimmed = 0;
        for (var p = 0; p < _redis.Keys.Partitions; p++)
        {
            var stream = (RedisKey)(string)_redis.Keys.Tag(p, Monitoring.TaskEventTagger.Tag)!;
            // An approximate trim removes whole stream nodes only, and at most LIMIT entries a call (Redis's default
            // is 100 nodes' worth, 10,000 entries): one call every interval falls behind a journal that tags more
            // than that, so the trim goes on, a bounded call at a time, until nothing older than MINID is left but
            // the last node's.
            long last;
            do
            {
                last = (long)await database.ExecuteAsync("XTRIM", stream, "MINID", "~", minId, "LIMIT", TrimLimit).ConfigureAwait(false);
                trimmed += last;
            }
            while (last > 0);
        }
        return $"{trimmed} tag-stream entries trimmed";
    }

    /// <summary>The entries one XTRIM call may remove: Redis's own default for an approximate trim (100 nodes of 100).</summary>
    private const int TrimLimit = 10_000;
}

/// <summary>
/// SQLite (Akka.Persistence.Sql): its own delete keeps a persistence id's last row for ever (to remember the highest
/// sequence number) and its tag rows, so a purge deletes the id's rows from journal, tags and snapshot itself, in one
/// transaction. The expiry index is the tags table's "expiry:" range (<see cref="ExpiryEntries.Tag"/>), read through
/// its index on tag; the purge deletes the entry with the rows. Freed pages are reused by SQLite; with
/// <c>auto_vacuum = INCREMENTAL</c> (set on new journal files) they are also given back to the file system here.
/// </summary>
public sealed class SqliteJournalRetention(string path, RetentionSettings settings) : IJournalRetention
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(path),
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    // Microsoft.Data.Sqlite's calls block: each runs on the thread pool, never on an actor's thread.
    public Task<IReadOnlyList<string>> DueAsync(DateTimeOffset now, int count) => Task.Run<IReadOnlyList<string>>(() =>
    {
        using var connection = Open();
        if (!TablesExist(connection))
            return [];
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT persistence_id FROM tags WHERE tag > $from AND tag <= $to ORDER BY tag LIMIT $count";
        command.Parameters.AddWithValue("$from", ExpiryEntries.TagPrefix);
        command.Parameters.AddWithValue("$to", ExpiryEntries.Tag(now));
        command.Parameters.AddWithValue("$count", count);
        var ids = new List<string>(count);
        using var reader = command.ExecuteReader();
        while (reader.Read())
            ids.Add(reader.GetString(0));
        return ids.Distinct(StringComparer.Ordinal).ToArray();
    });

    public Task PurgeAsync(IReadOnlyList<string> persistenceIds) => Task.Run(() =>
    {
        if (persistenceIds.Count == 0)
            return;
        using var connection = Open();
        if (!TablesExist(connection))
            return;
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var names = new string[persistenceIds.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = "$p" + i.ToString(CultureInfo.InvariantCulture);
            command.Parameters.AddWithValue(names[i], persistenceIds[i]);
        }
        var ids = string.Join(", ", names);
        command.CommandText = $"DELETE FROM tags WHERE persistence_id IN ({ids}); DELETE FROM journal WHERE persistence_id IN ({ids});" +
            (SnapshotTableExists(connection, transaction) ? $" DELETE FROM snapshot WHERE persistence_id IN ({ids});" : "");
        command.ExecuteNonQuery();
        transaction.Commit();
    });

    public Task<string> MaintainAsync(DateTimeOffset now) => Task.Run(() =>
    {
        using var connection = Open();
        using var mode = connection.CreateCommand();
        mode.CommandText = "PRAGMA auto_vacuum";
        if (Convert.ToInt64(mode.ExecuteScalar(), CultureInfo.InvariantCulture) != 2)
            return "free pages reused (the file was created without auto_vacuum = INCREMENTAL, so it does not shrink)";
        using var free = connection.CreateCommand();
        free.CommandText = "PRAGMA freelist_count";
        var before = Convert.ToInt64(free.ExecuteScalar(), CultureInfo.InvariantCulture);
        using var vacuum = connection.CreateCommand();
        vacuum.CommandText = $"PRAGMA incremental_vacuum({settings.VacuumPages})";
        using (var reader = vacuum.ExecuteReader())
            while (reader.Read())
            {
            }
        var after = Convert.ToInt64(free.ExecuteScalar(), CultureInfo.InvariantCulture);
        return $"{before - after} free pages given back";
    });

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Persistence.Sqlite.SqliteJournalFile.WaitForLocks(connection);
        return connection;
    }

    /// <summary>The plugin creates its tables with the first write; before it there is nothing to expire.</summary>
    private static bool TablesExist(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('journal', 'tags')";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 2;
    }

    private static bool SnapshotTableExists(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'snapshot'";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) == 1;
    }
}
