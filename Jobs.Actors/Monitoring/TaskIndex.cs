using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
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

    private const string Pragmas = """
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = OFF;
        PRAGMA wal_autocheckpoint = 10000;
        PRAGMA temp_store = MEMORY;
        PRAGMA busy_timeout = 5000;
        PRAGMA cache_size = -16000;
        """;

    private const string Schema = """
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
        """;

    private static readonly string[] ColumnNames = Columns.Split(", ");

    private readonly SqliteConnection _connection;
    private readonly int _maxResultLength;
    private readonly int _maxTasks;
    private int _addedSincePrune;

    // The hot statements, prepared once for the life of the connection: a batch only binds and steps them. The two
    // run once per event and per task bind by position (PreparedStatement), each event's body into one reused buffer.
    private readonly PreparedStatement _insertEvent;
    private readonly PreparedStatement _saveRow;
    private readonly ArrayBufferWriter<byte> _body = new(1024);
    private readonly Utf8JsonWriter _bodyWriter;
    private readonly SqliteCommand _loadRows;
    private readonly SqliteCommand _lacking;
    private readonly SqliteCommand _saveOffset;

    private TaskIndex(SqliteConnection connection, int maxResultLength, int maxTasks, bool recreated)
    {
        _connection = connection;
        _maxResultLength = maxResultLength;
        _maxTasks = maxTasks;
        Recreated = recreated;
        // Parameters numbered in the order Write binds them.
        _insertEvent = new PreparedStatement(connection,
            "INSERT OR IGNORE INTO events (uuid, type, retries, timestamp, body, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        _bodyWriter = new Utf8JsonWriter(_body);
        // A batch's ids are one JSON array parameter: one statement text whatever the batch's size.
        _loadRows = Prepare($"SELECT {Columns} FROM tasks WHERE uuid IN (SELECT value FROM json_each($uuids))", ("$uuids", SqliteType.Text));
        // An upsert touches only the indexes whose columns changed (REPLACE would delete and insert every index entry).
        // Parameter i + 1 is column i of Columns.
        _saveRow = new PreparedStatement(connection,
            $"INSERT INTO tasks ({Columns}) VALUES ({string.Join(", ", ColumnNames.Select((_, i) => "?" + (i + 1)))}) " +
            $"ON CONFLICT (uuid) DO UPDATE SET {string.Join(", ", ColumnNames.Skip(1).Select(n => $"{n} = excluded.{n}"))}");
        _lacking = Prepare("SELECT uuid, seq FROM events WHERE seq IS NOT NULL AND uuid IN (SELECT value FROM json_each($uuids))", ("$uuids", SqliteType.Text));
        _saveOffset = Prepare("INSERT INTO offsets (stream, value) VALUES ($stream, $value) ON CONFLICT (stream) DO UPDATE SET value = excluded.value",
            ("$stream", SqliteType.Text), ("$value", SqliteType.Text));
    }

    /// <summary>The file could not be read as an index (corrupt, or not a database) and was replaced by an empty one.</summary>
    public bool Recreated { get; }

    /// <summary>Opens (creating if needed) the index at <paramref name="path"/>; ":memory:"-style paths are not shared, so use a file.</summary>
    /// <param name="maxTasks">Flower's max_tasks: beyond it the oldest finished tasks leave the index (not the journal); 0 keeps all.</param>
    /// <param name="recreateIfCorrupt">
    /// Check the file (<c>PRAGMA quick_check</c>) and, should it be corrupt or not a database, move it aside (to
    /// <c>{path}.corrupt</c>, replacing an earlier one: a mistyped path must not destroy someone's file) and start an
    /// empty index, which the journal sweep then rebuilds. Writes are not synced (the index is a cache of the journal),
    /// so a machine crash can leave the file torn. Only the first opener may do this: another connection open on the
    /// file would go on writing to the deleted one.
    /// </param>
    public static TaskIndex Open(string path, int maxResultLength, int maxTasks = 0, bool recreateIfCorrupt = false)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        if (!recreateIfCorrupt)
            return new TaskIndex(Connect(path, check: false), maxResultLength, maxTasks, recreated: false);
        try
        {
            return new TaskIndex(Connect(path, check: true), maxResultLength, maxTasks, recreated: false);
        }
        catch (SqliteException e) when ((e.SqliteErrorCode & 0xFF) is SQLITE_CORRUPT or SQLITE_NOTADB)
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                if (File.Exists(path + suffix))
                    File.Move(path + suffix, path + CorruptSuffix + suffix, overwrite: true);
            }
            return new TaskIndex(Connect(path, check: false), maxResultLength, maxTasks, recreated: true);
        }
    }

    /// <summary>Where <see cref="Open"/> moves a file it could not read as an index.</summary>
    public const string CorruptSuffix = ".corrupt";

    private const int SQLITE_CORRUPT = 11;
    private const int SQLITE_NOTADB = 26;

    private static SqliteConnection Connect(string path, bool check)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, Pragmas);
            if (check)
            {
                using var quickCheck = connection.CreateCommand();
                quickCheck.CommandText = "PRAGMA quick_check(1)";
                if (quickCheck.ExecuteScalar() is not "ok")
                    throw new SqliteException("the task index failed its quick_check", SQLITE_CORRUPT);
            }
            Execute(connection, Schema);
            // An index made before events carried their journal sequence number: its rows have none, so the sweep
            // reads those events again once (only behind its offset, which is past them).
            using var columns = connection.CreateCommand();
            columns.CommandText = "SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'seq'";
            if ((long)columns.ExecuteScalar()! == 0)
                Execute(connection, "ALTER TABLE events ADD COLUMN seq INTEGER");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private SqliteCommand Prepare(string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
            command.Parameters.Add(name, type);
        command.Prepare();
        return command;
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
        foreach (var e in events)
        {
            _insertEvent.Bind(1, e.Uuid);
            _insertEvent.Bind(2, e.Type);
            // A task finishes once, so its final event is one whatever attempt the sender counted.
            _insertEvent.Bind(3, e.Type is EventTypes.TaskSucceeded or EventTypes.TaskFailed or EventTypes.TaskRevoked ? 0 : e.Retries);
            _insertEvent.Bind(4, MonitoringJson.Epoch(e.Timestamp));
            _body.ResetWrittenCount();
            _bodyWriter.Reset(_body);
            MonitoringJson.Event(e, _bodyWriter);
            _insertEvent.Bind(5, _body.WrittenSpan);
            _insertEvent.Bind(6, e.JournalSequenceNr > 0 ? e.JournalSequenceNr : null);
            if (_insertEvent.Execute() == 1)
                fresh.Add(e);
        }
        if (fresh.Count > 0)
        {
            var uuids = fresh.Select(e => e.Uuid).Distinct().ToArray();
            var rows = Load(uuids, transaction);
            _addedSincePrune += uuids.Count(id => !rows.ContainsKey(id));
            foreach (var e in fresh)
                rows[e.Uuid] = (rows.TryGetValue(e.Uuid, out var row) ? row : new TaskRow { Uuid = e.Uuid }).Apply(e, _maxResultLength);
            Save(rows.Values);
            // Events replayed from the journal lack the task's name; the row has it.
            for (var i = 0; i < fresh.Count; i++)
                if (fresh[i].Name is null)
                    fresh[i] = fresh[i] with { Name = rows[fresh[i].Uuid].Name };
        }
        if (stream is not null && offset is not null)
        {
            _saveOffset.Transaction = transaction;
            _saveOffset.Parameters[0].Value = stream;
            _saveOffset.Parameters[1].Value = OffsetText(offset);
            _saveOffset.ExecuteNonQuery();
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
        _lacking.Transaction = null;
        _lacking.Parameters[0].Value = JsonArray(events.Select(e => e.Uuid).Distinct());
        using (var reader = _lacking.ExecuteReader())
        {
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

    private static string JsonArray(IEnumerable<string> values) => JsonSerializer.Serialize(values);

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

    /// <summary>
    /// Drops the oldest finished tasks (and their events) beyond the maximum, a hundredth of it at a time at most:
    /// oldest received first, then those never received. The candidates are read in the order of the received index
    /// (<c>+state</c> keeps the planner off the state index, which would sort every finished task for each prune).
    /// </summary>
    private void Prune(SqliteTransaction transaction)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT COUNT(*) FROM tasks";
        var excess = (long)command.ExecuteScalar()! - _maxTasks;
        if (excess <= 0)
            return;
        command.CommandText = """
            CREATE TEMP TABLE IF NOT EXISTS doomed (uuid TEXT PRIMARY KEY);
            DELETE FROM doomed;
            INSERT INTO doomed SELECT uuid FROM tasks WHERE received IS NOT NULL AND +state IN ('SUCCESS', 'FAILURE', 'REVOKED')
              ORDER BY received LIMIT $excess;
            INSERT INTO doomed SELECT uuid FROM tasks WHERE received IS NULL AND +state IN ('SUCCESS', 'FAILURE', 'REVOKED')
              LIMIT max(0, $excess - (SELECT COUNT(*) FROM doomed));
            DELETE FROM events WHERE uuid IN (SELECT uuid FROM doomed);
            DELETE FROM tasks WHERE uuid IN (SELECT uuid FROM doomed);
            """;
        command.Parameters.AddWithValue("$excess", excess);
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
        _loadRows.Transaction = transaction;
        _loadRows.Parameters[0].Value = JsonArray(uuids);
        using var reader = _loadRows.ExecuteReader();
        while (reader.Read())
        {
            var row = Read(reader);
            rows[row.Uuid] = row;
        }
        return rows;
    }

    /// <summary>Upserts the rows, within the transaction open on the connection; the slots follow <see cref="Columns"/>.</summary>
    private void Save(IEnumerable<TaskRow> rows)
    {
        var s = _saveRow;
        foreach (var row in rows)
        {
            s.Bind(1, row.Uuid);
            s.Bind(2, row.Name);
            s.Bind(3, row.State);
            s.Bind(4, row.Args);
            s.Bind(5, row.Kwargs);
            s.Bind(6, row.Result);
            s.Bind(7, row.Exception);
            s.Bind(8, row.Traceback);
            s.Bind(9, row.Sent);
            s.Bind(10, row.Received);
            s.Bind(11, row.Started);
            s.Bind(12, row.Succeeded);
            s.Bind(13, row.Failed);
            s.Bind(14, row.Retried);
            s.Bind(15, row.Revoked);
            s.Bind(16, row.Runtime);
            s.Bind(17, row.Worker);
            s.Bind(18, row.Retries);
            s.Bind(19, row.Queue);
            s.Bind(20, row.Eta);
            s.Bind(21, row.Expires);
            s.Bind(22, row.Updated);
            s.Execute();
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

    public void Dispose()
    {
        // The statements prepared on the handle go before the connection that closes it.
        _insertEvent.Dispose();
        _saveRow.Dispose();
        _bodyWriter.Dispose();
        foreach (var command in new[] { _loadRows, _lacking, _saveOffset })
            command.Dispose();
        _connection.Dispose();
    }
}
