using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using Jobs.Actors.Persistence.Sqlite;
using LinqToDB.Data;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>
/// The embedded journal's connections wait for SQLite's write lock inside SQLite. Without a busy timeout SQLite
/// answers SQLITE_BUSY at once and Microsoft.Data.Sqlite sleeps 150 ms before trying again, which stalled the
/// journal's one writer whenever another connection (the retention's purge) held the lock.
/// </summary>
public sealed class SqliteJournalFileSpec : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jobs-sqlite-file-").FullName;

    private Config Config => ConfigurationFactory.ParseString($"jobs.persistence.sqlite.path = \"{Path.Combine(_directory, "jobs.db")}\"");

    [Fact]
    public void Microsoft_Data_Sqlite_opens_connections_without_a_busy_timeout()
    {
        // What the setup is for: if a later Microsoft.Data.Sqlite set one itself, the setup would be redundant.
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "plain.db")}");
        connection.Open();
        Assert.Equal(0L, BusyTimeout(connection));
    }

    [Fact]
    public void The_plugins_data_options_open_every_connection_to_the_journal_file_with_the_busy_timeout()
    {
        SqliteJournalFile.Prepare(Config);
        Assert.IsType<DataOptionsSetup>(SqliteJournalFile.ConnectionSetup(Config));
        var options = SqliteJournalFile.PluginDataOptions(Config);
        // Twice: a pooled connection handed out again is opened again, and set again.
        for (var i = 0; i < 2; i++)
        {
            using var data = new DataConnection(options);
            Assert.Equal((long)SqliteJournalFile.BusyTimeout.TotalMilliseconds, data.Execute<long>("PRAGMA busy_timeout"));
            Assert.Equal("wal", data.Execute<string>("PRAGMA journal_mode"));
            Assert.EndsWith(Path.Combine(_directory, "jobs.db"), ((SqliteConnection)data.OpenDbConnection()).DataSource);
        }
    }

    [Fact]
    public async Task A_writer_with_the_busy_timeout_waits_inside_SQLite_where_one_without_it_gives_up()
    {
        SqliteJournalFile.Prepare(Config);
        var path = Path.Combine(_directory, "jobs.db");
        using var holder = new SqliteConnection($"Data Source={path}");
        holder.Open();
        Execute(holder, "CREATE TABLE t (v INTEGER)");
        using var lockHeld = holder.BeginTransaction(System.Data.IsolationLevel.Serializable);
        Execute(holder, "INSERT INTO t VALUES (1)", lockHeld);

        // Microsoft.Data.Sqlite retries SQLITE_BUSY for its command timeout (here 1 s), then throws.
        using var plain = new SqliteConnection($"Data Source={path};Default Timeout=1");
        plain.Open();
        var refused = Assert.Throws<SqliteException>(() => Execute(plain, "INSERT INTO t VALUES (2)"));
        Assert.Equal(5, refused.SqliteErrorCode);

        // With the busy timeout SQLite itself waits, past that 1 s, until the lock is free.
        using var waiting = new SqliteConnection($"Data Source={path};Default Timeout=1");
        waiting.Open();
        SqliteJournalFile.WaitForLocks(waiting);
        var write = Task.Run(() => Execute(waiting, "INSERT INTO t VALUES (3)"));
        Assert.NotSame(write, await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(2))));
        lockHeld.Commit();
        await write.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2L, Scalar(holder, "SELECT count(*) FROM t"));
    }

    private static long BusyTimeout(SqliteConnection connection) => Scalar(connection, "PRAGMA busy_timeout");

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }
}
