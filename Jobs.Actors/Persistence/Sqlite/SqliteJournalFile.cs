using System.Data.Common;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using Microsoft.Data.Sqlite;

namespace Jobs.Actors.Persistence.Sqlite;

/// <summary>
/// Prepares the embedded journal's file before the plugin opens it: write-ahead logging, so a commit appends to
/// one log instead of rewriting the database through a rollback journal; and, on a new file, incremental auto-vacuum,
/// so the pages retention frees can be given back to the file system (an older file keeps reusing them, but does not
/// shrink). Both settings live in the file.
/// </summary>
public static class SqliteJournalFile
{
    /// <summary>
    /// How long a connection to the journal file waits for another's write lock inside SQLite. Without it SQLite
    /// answers SQLITE_BUSY at once and Microsoft.Data.Sqlite sleeps 150 ms before it tries again: the journal's one
    /// writer stalled that long whenever the retention's purge or maintenance, or the snapshot store, held the write
    /// lock for a millisecond (W1 on SQLite: 306 tasks/s without it, 383 with it, in one quiet pair of runs).
    /// </summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(10);

    public static string PathOf(Config config) => Path.GetFullPath(config.GetString("jobs.persistence.sqlite.path", "./data/jobs.db"));

    /// <summary>The setup that gives Akka.Persistence.Sql's journal, snapshot store and query journal <see cref="PluginDataOptions"/>.</summary>
    public static Setup ConnectionSetup(Config config) => new DataOptionsSetup(PluginDataOptions(config));

    /// <summary>
    /// The data options of the plugin's connections: the file of <see cref="JobsConfig"/>'s connection string, each
    /// connection opened with <see cref="BusyTimeout"/>, and tag reads that do not scan the whole tag table
    /// (<see cref="TagAggregateRewrite"/>).
    /// </summary>
    public static DataOptions PluginDataOptions(Config config) => new DataOptions()
        .UseConnectionString(ProviderName.SQLiteMS, $"Data Source={PathOf(config)};Pooling=True")
        .UseInterceptor(TagAggregateRewrite.Instance)
        .UseAfterConnectionOpened(WaitForLocks, (connection, _) =>
        {
            WaitForLocks(connection);
            return Task.CompletedTask;
        });

    /// <summary>Sets <see cref="BusyTimeout"/> on an open connection to the journal file (it lasts as long as the connection).</summary>
    public static void WaitForLocks(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds}";
        command.ExecuteNonQuery();
    }

    public static void Prepare(Config config)
    {
        var path = PathOf(config);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var command = connection.CreateCommand();
        // auto_vacuum takes effect only before the first table is created (later it would need a full VACUUM).
        command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
