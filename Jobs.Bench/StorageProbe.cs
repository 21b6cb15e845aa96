using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Jobs.Bench;

/// <summary>
/// Reads what a target keeps on storage, for W6: on Redis its memory, key count, the append-only file's size after
/// a rewrite, and sharding's own events and snapshots; on SQLite the file and its WAL, free pages, and the rows of
/// the journal, tags and snapshots (sharding's among them). Every reading is a series named in <see cref="Series"/>.
/// </summary>
public abstract class StorageProbe
{
    /// <summary>Sharding's persistence ids: a shard's remembered ids "/sharding/taskShard/42", and its coordinator
    /// "/system/sharding/taskCoordinator/singleton/coordinator".</summary>
    public const string ShardingPrefix = "/sharding/";

    public const string CoordinatorPrefix = "/system/sharding/";

    public static StorageProbe For(BenchTarget target) =>
        target.RedisServer is { } redis ? new RedisStorageProbe(redis) : new SqliteStorageProbe(target.SqlitePath);

    /// <summary>One reading of every series, by name (sizes in MB).</summary>
    public abstract Task<IReadOnlyDictionary<string, double>> ReadAsync();

    /// <summary>The series whose flatness is W6's goal (the others say why, such as free pages).</summary>
    public abstract IReadOnlyList<string> GoalSeries { get; }

    protected static double Mb(double bytes) => Math.Round(bytes / 1024.0 / 1024.0, 2);
}

/// <summary>
/// Redis through redis-cli (exact commands, excluded from the run's Redis calls per task as far as the journal never
/// uses them: see <see cref="RedisProcess.CommandStats"/>).
/// </summary>
public sealed class RedisStorageProbe(RedisProcess redis) : StorageProbe
{
    public override IReadOnlyList<string> GoalSeries { get; } = ["redis_used_memory_mb", "redis_keys", "redis_aof_mb", "sharding_keys", "sharding_events", "sharding_snapshots"];

    public override async Task<IReadOnlyDictionary<string, double>> ReadAsync()
    {
        var series = new Dictionary<string, double>
        {
            ["redis_used_memory_mb"] = Mb(InfoField(redis.Cli("INFO", "memory"), "used_memory")),
            ["redis_keys"] = double.Parse(redis.Cli("DBSIZE").Trim(), CultureInfo.InvariantCulture),
            ["redis_aof_mb"] = Mb(await RewrittenAofBytesAsync()),
        };
        // Sharding's own state: its persistence ids' event lists (jobs:{p}:j:/sharding/…, …:j:/system/sharding/…) and
        // snapshot sets (…:s:…).
        var keys = redis.Cli("--scan", "--pattern", "*sharding/*").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(k => new[] { ShardingPrefix, CoordinatorPrefix }.Any(p => k.Contains(":j:" + p, StringComparison.Ordinal) || k.Contains(":s:" + p, StringComparison.Ordinal)))
            .ToArray();
        var events = keys.Where(k => k.Contains(":j:", StringComparison.Ordinal)).ToArray();
        var snapshots = keys.Where(k => k.Contains(":s:", StringComparison.Ordinal)).ToArray();
        series["sharding_keys"] = keys.Length;
        series["sharding_events"] = Sum(events.Select(k => $"LLEN \"{k}\""));
        series["sharding_snapshots"] = Sum(snapshots.Select(k => $"ZCARD \"{k}\""));
        return series;
    }

    /// <summary>Rewrites the AOF (BGREWRITEAOF), waits until Redis says it is done, and answers its size then.</summary>
    private async Task<double> RewrittenAofBytesAsync()
    {
        redis.Cli("BGREWRITEAOF");
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            var persistence = redis.Cli("INFO", "persistence");
            if (InfoField(persistence, "aof_rewrite_in_progress") == 0 && InfoField(persistence, "aof_rewrite_scheduled") == 0)
                return InfoField(persistence, "aof_current_size");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("Redis did not finish rewriting its AOF within a minute");
            await Task.Delay(50);
        }
    }

    /// <summary>The integer replies of many commands, summed, in one redis-cli call (its standard input).</summary>
    private double Sum(IEnumerable<string> commands)
    {
        var script = string.Join('\n', commands);
        if (script.Length == 0)
            return 0;
        return redis.CliWithInput(script).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Sum(l => double.Parse(l, CultureInfo.InvariantCulture));
    }

    private static double InfoField(string info, string name)
    {
        var line = info.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault(l => l.StartsWith(name + ":", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"Redis's INFO has no '{name}'");
        return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// SQLite through a read-only connection of its own (WAL mode: it never blocks the node's writer). Page counts come
/// from the file itself: <c>freelist_count</c> is the free pages the file still holds (reused by later writes, and
/// given back by the incremental vacuum).
/// </summary>
public sealed class SqliteStorageProbe(string path) : StorageProbe
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false, DefaultTimeout = 30 }.ToString();

    public override IReadOnlyList<string> GoalSeries { get; } = ["sqlite_db_mb", "sqlite_db_and_wal_mb", "journal_rows", "tag_rows", "snapshot_rows", "sharding_journal_rows", "sharding_snapshot_rows"];

    public override Task<IReadOnlyDictionary<string, double>> ReadAsync() => Task.Run<IReadOnlyDictionary<string, double>>(() =>
    {
        var db = FileBytes(path);
        var wal = FileBytes(path + "-wal");
        var series = new Dictionary<string, double>
        {
            ["sqlite_db_mb"] = Mb(db),
            ["sqlite_wal_mb"] = Mb(wal),
            ["sqlite_db_and_wal_mb"] = Mb(db + wal),
        };
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        series["sqlite_pages"] = Scalar(connection, "PRAGMA page_count");
        series["sqlite_free_pages"] = Scalar(connection, "PRAGMA freelist_count");
        var tables = new HashSet<string>(Strings(connection, "SELECT name FROM sqlite_master WHERE type = 'table'"));
        // The ids' range, not LIKE, so SQLite reads it through the (persistence_id, sequence_number) index.
        const string sharding = $"(persistence_id >= '{ShardingPrefix}' AND persistence_id < '/sharding0' OR persistence_id >= '{CoordinatorPrefix}' AND persistence_id < '/system/sharding0')";
        series["journal_rows"] = tables.Contains("journal") ? Scalar(connection, "SELECT count(*) FROM journal") : 0;
        series["sharding_journal_rows"] = tables.Contains("journal") ? Scalar(connection, $"SELECT count(*) FROM journal WHERE {sharding}") : 0;
        series["tag_rows"] = tables.Contains("tags") ? Scalar(connection, "SELECT count(*) FROM tags") : 0;
        series["snapshot_rows"] = tables.Contains("snapshot") ? Scalar(connection, "SELECT count(*) FROM snapshot") : 0;
        series["sharding_snapshot_rows"] = tables.Contains("snapshot") ? Scalar(connection, $"SELECT count(*) FROM snapshot WHERE {sharding}") : 0;
        return series;
    });

    private static double FileBytes(string file) => File.Exists(file) ? new FileInfo(file).Length : 0;

    private static double Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToDouble(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static List<string> Strings(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
            values.Add(reader.GetString(0));
        return values;
    }
}
