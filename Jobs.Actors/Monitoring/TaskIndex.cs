using System.Globalization;
using System.Text;
using Akka.Persistence.Query;
using Jobs.Actors.Persistence.Redis.Query;
using Microsoft.Data.Sqlite;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// The monitor's task index: an SQLite file with one row per task, each task's events, and how far the journal
/// has been read. Queries page, filter and sort in SQL, so no task list is ever held in memory. Calls block, so
/// only actors on the monitoring dispatcher use it; each holds its own connection (WAL lets reads run beside a write).
/// </summary>
public sealed class TaskIndex : IDisposable
{
    private const string Columns =
        "uuid, name, state, args, kwargs, result, exception, traceback, sent, received, started, succeeded, failed, " +
        "retried, revoked, runtime, worker, retries, queue, eta, expires, updated";

    private readonly SqliteConnection _connection;
    private readonly int _maxResultLength;
    private readonly int _maxTasks;
    private int _addedSincePrune;

    private TaskIndex(SqliteConnection connection, int maxResultLength, int maxTasks)
    {
        _connection = connection;
        _maxResultLength = maxResultLength;
        _maxTasks = maxTasks;
    }

    /// <summary>Opens (creating if needed) the index at <paramref name="path"/>; ":memory:"-style paths are not shared, so use a file.</summary>
    /// <param name="maxTasks">Flower's max_tasks: beyond it the oldest finished tasks leave the index (not the journal); 0 keeps all.</param>
    public static TaskIndex Open(string path, int maxResultLength, int maxTasks = 0)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        Execute(connection, """
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 5000;
            PRAGMA cache_size = -16000;
            CREATE TABLE IF NOT EXISTS tasks (
              uuid TEXT PRIMARY KEY, name TEXT, state TEXT NOT NULL, args TEXT, kwargs TEXT, result TEXT, exception TEXT,
              traceback TEXT, sent REAL, received REAL, started REAL, succeeded REAL, failed REAL, retried REAL, revoked REAL,
              runtime REAL, worker TEXT, retries INTEGER NOT NULL, queue TEXT, eta REAL, expires REAL, updated REAL);
            CREATE INDEX IF NOT EXISTS tasks_received ON tasks (received);
            CREATE INDEX IF NOT EXISTS tasks_name ON tasks (name, received);
            CREATE INDEX IF NOT EXISTS tasks_state ON tasks (state, received);
            CREATE INDEX IF NOT EXISTS tasks_worker ON tasks (worker, received);
            CREATE TABLE IF NOT EXISTS events (
              id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, type TEXT NOT NULL, retries INTEGER NOT NULL,
              timestamp REAL NOT NULL, body TEXT NOT NULL, seq INTEGER, UNIQUE (uuid, type, retries));
            CREATE TABLE IF NOT EXISTS offsets (stream TEXT PRIMARY KEY, value TEXT NOT NULL);
            """);
        // An index made before events carried their journal sequence number: its rows have none, so the sweep reads
        // those events again once (only behind its offset, which is past them).
        using (var columns = connection.CreateCommand())
        {
            columns.CommandText = "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'seq'";
            if ((long)columns.ExecuteScalar()! == 0)
                Execute(connection, "ALTER TABLE events ADD COLUMN seq INTEGER");
        }
        return new TaskIndex(connection, maxResultLength, maxTasks);
    }

    /// <summary>
    /// The journal offset stored with the last batch read from <paramref name="stream"/>; <c>Sequence(0)</c> when none.
    /// A <see cref="Sequence"/> is stored as its number, a <see cref="PartitionedOffset"/> (a Redis journal of several
    /// partitions) as its text; an index written before offsets were text holds integers, read as sequences.
    /// </summary>
    public Offset Offset(string stream)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT value FROM offsets WHERE stream = $stream";
        command.Parameters.AddWithValue("$stream", stream);
        return command.ExecuteScalar() switch
        {
            long value => Akka.Persistence.Query.Offset.Sequence(value),
            string text when text.Contains(',') => PartitionedOffset.Parse(text),
            string text => Akka.Persistence.Query.Offset.Sequence(long.Parse(text, CultureInfo.InvariantCulture)),
            _ => Akka.Persistence.Query.Offset.Sequence(0),
        };
    }

    private static string OffsetText(Offset offset) => offset switch
    {
        Sequence sequence => sequence.Value.ToString(CultureInfo.InvariantCulture),
        PartitionedOffset partitioned => partitioned.ToString(),
        _ => throw new ArgumentException($"the task index stores Sequence and PartitionedOffset offsets, not {offset.GetType().Name}", nameof(offset)),
    };

    /// <summary>
    /// Records a batch in one transaction, with the journal offset it reaches when it came from the journal. An
    /// event already recorded (it arrives both live and from the journal) changes nothing; the new ones are returned,
    /// named.
    /// </summary>
    public IReadOnlyList<TaskEvent> Write(IReadOnlyList<TaskEvent> events, string? stream = null, Offset? offset = null)
    {
        using var transaction = _connection.BeginTransaction();
        var fresh = new List<TaskEvent>(events.Count);
        using (var insert = _connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT OR IGNORE INTO events (uuid, type, retries, timestamp, body, seq) VALUES ($uuid, $type, $retries, $timestamp, $body, $seq)";
            var uuid = insert.Parameters.Add("$uuid", SqliteType.Text);
            var type = insert.Parameters.Add("$type", SqliteType.Text);
            var retries = insert.Parameters.Add("$retries", SqliteType.Integer);
            var timestamp = insert.Parameters.Add("$timestamp", SqliteType.Real);
            var body = insert.Parameters.Add("$body", SqliteType.Text);
            var seq = insert.Parameters.Add("$seq", SqliteType.Integer);
            foreach (var e in events)
            {
                uuid.Value = e.Uuid;
                type.Value = e.Type;
                // A task finishes once, so its final event is one whatever attempt the sender counted.
                retries.Value = e.Type is EventTypes.TaskSucceeded or EventTypes.TaskFailed or EventTypes.TaskRevoked ? 0 : e.Retries;
                timestamp.Value = MonitoringJson.Epoch(e.Timestamp);
                body.Value = MonitoringJson.Event(e);
                seq.Value = e.JournalSequenceNr > 0 ? e.JournalSequenceNr : DBNull.Value;
                if (insert.ExecuteNonQuery() == 1)
                    fresh.Add(e);
            }
        }
        if (fresh.Count > 0)
        {
            var rows = Load(fresh.Select(e => e.Uuid).Distinct().ToArray(), transaction);
            _addedSincePrune += fresh.Select(e => e.Uuid).Distinct().Count(uuid => !rows.ContainsKey(uuid));
            foreach (var e in fresh)
                rows[e.Uuid] = (rows.TryGetValue(e.Uuid, out var row) ? row : new TaskRow { Uuid = e.Uuid }).Apply(e, _maxResultLength);
            Save(rows.Values, transaction);
            // Events replayed from the journal lack the task's name; the row has it.
            for (var i = 0; i < fresh.Count; i++)
                if (fresh[i].Name is null)
                    fresh[i] = fresh[i] with { Name = rows[fresh[i].Uuid].Name };
        }
        if (stream is not null && offset is not null)
        {
            using var save = _connection.CreateCommand();
            save.Transaction = transaction;
            save.CommandText = "INSERT INTO offsets (stream, value) VALUES ($stream, $value) ON CONFLICT (stream) DO UPDATE SET value = excluded.value";
            save.Parameters.AddWithValue("$stream", stream);
            save.Parameters.AddWithValue("$value", OffsetText(offset));
            save.ExecuteNonQuery();
        }
        if (_maxTasks > 0 && _addedSincePrune >= Math.Max(1, _maxTasks / 100))
        {
            Prune(transaction);
            _addedSincePrune = 0;
        }
        transaction.Commit();
        return fresh;
    }

    /// <summary>
    /// Which of these journaled events (task id, sequence number in its journal) the index has not recorded: the ones
    /// the journal sweep must read. An event recorded without its number (by an older version) counts as not recorded.
    /// </summary>
    public IReadOnlyList<int> Lacking(IReadOnlyList<(string Uuid, long SequenceNr)> events)
    {
        var recorded = new HashSet<(string, long)>();
        foreach (var chunk in events.Select(e => e.Uuid).Distinct().Chunk(500))
        {
            using var command = _connection.CreateCommand();
            command.CommandText = $"SELECT uuid, seq FROM events WHERE seq IS NOT NULL AND uuid IN ({string.Join(", ", chunk.Select((_, i) => "$u" + i))})";
            for (var i = 0; i < chunk.Length; i++)
                command.Parameters.AddWithValue("$u" + i, chunk[i]);
            using var reader = command.ExecuteReader();
            while (reader.Read())
                recorded.Add((reader.GetString(0), reader.GetInt64(1)));
        }
        var lacking = new List<int>();
        for (var i = 0; i < events.Count; i++)
        {
            if (!recorded.Contains(events[i]))
                lacking.Add(i);
        }
        return lacking;
    }

    /// <summary>Drops these tasks and their events: their results expired from the journal.</summary>
    public void Forget(IReadOnlyList<string> uuids)
    {
        using var transaction = _connection.BeginTransaction();
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM events WHERE uuid = $uuid; DELETE FROM tasks WHERE uuid = $uuid;";
        var uuid = command.Parameters.Add("$uuid", SqliteType.Text);
        foreach (var id in uuids)
        {
            uuid.Value = id;
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    /// <summary>Drops the oldest finished tasks (and their events) beyond the maximum, a hundredth of it at a time at most.</summary>
    private void Prune(SqliteTransaction transaction)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            CREATE TEMP TABLE IF NOT EXISTS doomed (uuid TEXT PRIMARY KEY);
            DELETE FROM doomed;
            INSERT INTO doomed SELECT uuid FROM tasks WHERE state IN ('SUCCESS', 'FAILURE', 'REVOKED')
              ORDER BY received IS NULL, received LIMIT max(0, (SELECT COUNT(*) FROM tasks) - $max);
            DELETE FROM events WHERE uuid IN (SELECT uuid FROM doomed);
            DELETE FROM tasks WHERE uuid IN (SELECT uuid FROM doomed);
            """;
        command.Parameters.AddWithValue("$max", _maxTasks);
        command.ExecuteNonQuery();
    }

    public TaskPage Query(TaskQuery query)
    {
        var where = new StringBuilder(" WHERE 1 = 1");
        // One read transaction: the total and the page come from the same snapshot, whatever the writer commits between.
        using var snapshot = _connection.BeginTransaction(deferred: true);
        using var count = _connection.CreateCommand();
        using var page = _connection.CreateCommand();
        count.Transaction = snapshot;
        page.Transaction = snapshot;
        void Parameter(string name, object value)
        {
            count.Parameters.AddWithValue(name, value);
            page.Parameters.AddWithValue(name, value);
        }
        if (query.Worker is not null)
        {
            where.Append(" AND worker = $worker");
            Parameter("$worker", query.Worker);
        }
        if (query.TaskName is not null)
        {
            where.Append(" AND name = $name");
            Parameter("$name", query.TaskName);
        }
        if (query.States is { Count: > 0 } states)
        {
            where.Append(" AND state IN (").Append(string.Join(", ", states.Select((_, i) => "$state" + i))).Append(')');
            for (var i = 0; i < states.Count; i++)
                Parameter("$state" + i, states[i]);
        }
        if (query.ReceivedStart is { } start)
        {
            where.Append(" AND received >= $start");
            Parameter("$start", start);
        }
        if (query.ReceivedEnd is { } end)
        {
            where.Append(" AND received <= $end");
            Parameter("$end", end);
        }
        if (query.Search is { } search)
        {
            where.Append(" AND (uuid LIKE $search ESCAPE '\\' OR name LIKE $search ESCAPE '\\' OR args LIKE $search ESCAPE '\\'" +
                         " OR kwargs LIKE $search ESCAPE '\\' OR result LIKE $search ESCAPE '\\' OR exception LIKE $search ESCAPE '\\'" +
                         " OR worker LIKE $search ESCAPE '\\')");
            Parameter("$search", "%" + search.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%");
        }
        count.CommandText = "SELECT COUNT(*) FROM tasks" + where;
        var total = (long)count.ExecuteScalar()!;
        var direction = query.Descending ? "DESC" : "ASC";
        page.CommandText = $"SELECT {Columns} FROM tasks{where} ORDER BY {query.SortColumn} IS NULL, {query.SortColumn} {direction}, uuid {direction} LIMIT $limit OFFSET $offset";
        page.Parameters.AddWithValue("$limit", query.Limit);
        page.Parameters.AddWithValue("$offset", query.Offset);
        using var reader = page.ExecuteReader();
        var rows = new List<TaskRow>();
        while (reader.Read())
            rows.Add(Read(reader));
        return new TaskPage(total, rows);
    }

    private const string LifecycleRank =
        $"CASE type WHEN '{EventTypes.TaskSent}' THEN 0 WHEN '{EventTypes.TaskReceived}' THEN 1 WHEN '{EventTypes.TaskStarted}' THEN 2 ELSE 3 END";

    public TaskTimeline Timeline(string uuid)
    {
        var row = Load([uuid], null).Values.FirstOrDefault();
        using var command = _connection.CreateCommand();
        // Events of one millisecond keep their lifecycle order whichever feed (live or journal sweep) recorded them first.
        command.CommandText = $"SELECT body FROM events WHERE uuid = $uuid ORDER BY timestamp, {LifecycleRank}, id";
        command.Parameters.AddWithValue("$uuid", uuid);
        using var reader = command.ExecuteReader();
        var events = new List<string>();
        while (reader.Read())
            events.Add(reader.GetString(0));
        return new TaskTimeline(row, events);
    }

    public TaskCounts Counts()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(name, ''), state, COUNT(*) FROM tasks GROUP BY name, state ORDER BY name, state";
        using var reader = command.ExecuteReader();
        var counts = new List<(string, string, long)>();
        while (reader.Read())
            counts.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        return new TaskCounts(counts);
    }

    private Dictionary<string, TaskRow> Load(IReadOnlyList<string> uuids, SqliteTransaction? transaction)
    {
        var rows = new Dictionary<string, TaskRow>(uuids.Count);
        // SQLite binds at most 999 parameters per statement in older builds.
        foreach (var chunk in uuids.Chunk(500))
        {
            using var command = _connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"SELECT {Columns} FROM tasks WHERE uuid IN ({string.Join(", ", chunk.Select((_, i) => "$u" + i))})";
            for (var i = 0; i < chunk.Length; i++)
                command.Parameters.AddWithValue("$u" + i, chunk[i]);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var row = Read(reader);
                rows[row.Uuid] = row;
            }
        }
        return rows;
    }

    private void Save(IEnumerable<TaskRow> rows, SqliteTransaction transaction)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        var names = Columns.Split(", ");
        // An upsert touches only the indexes whose columns changed (REPLACE would delete and insert every index entry).
        command.CommandText = $"INSERT INTO tasks ({Columns}) VALUES ({string.Join(", ", names.Select(n => "$" + n))}) " +
                              $"ON CONFLICT (uuid) DO UPDATE SET {string.Join(", ", names.Skip(1).Select(n => $"{n} = excluded.{n}"))}";
        var parameters = names.ToDictionary(n => n, n => command.Parameters.Add("$" + n, SqliteType.Text));
        foreach (var row in rows)
        {
            object?[] values =
            [
                row.Uuid, row.Name, row.State, row.Args, row.Kwargs, row.Result, row.Exception, row.Traceback, row.Sent,
                row.Received, row.Started, row.Succeeded, row.Failed, row.Retried, row.Revoked, row.Runtime, row.Worker,
                row.Retries, row.Queue, row.Eta, row.Expires, row.Updated,
            ];
            for (var i = 0; i < names.Length; i++)
            {
                var parameter = parameters[names[i]];
                parameter.SqliteType = values[i] switch { double => SqliteType.Real, int => SqliteType.Integer, _ => SqliteType.Text };
                parameter.Value = values[i] ?? DBNull.Value;
            }
            command.ExecuteNonQuery();
        }
    }

    private static TaskRow Read(SqliteDataReader r) => new()
    {
        Uuid = r.GetString(0),
        Name = Text(r, 1),
        State = r.GetString(2),
        Args = Text(r, 3),
        Kwargs = Text(r, 4),
        Result = Text(r, 5),
        Exception = Text(r, 6),
        Traceback = Text(r, 7),
        Sent = Real(r, 8),
        Received = Real(r, 9),
        Started = Real(r, 10),
        Succeeded = Real(r, 11),
        Failed = Real(r, 12),
        Retried = Real(r, 13),
        Revoked = Real(r, 14),
        Runtime = Real(r, 15),
        Worker = Text(r, 16),
        Retries = r.GetInt32(17),
        Queue = Text(r, 18),
        Eta = Real(r, 19),
        Expires = Real(r, 20),
        Updated = Real(r, 21),
    };

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static double? Real(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetDouble(i);

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
