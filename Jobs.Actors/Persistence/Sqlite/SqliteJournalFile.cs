using Akka.Configuration;
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
    public static void Prepare(Config config)
    {
        var path = Path.GetFullPath(config.GetString("jobs.persistence.sqlite.path", "./data/jobs.db"));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var command = connection.CreateCommand();
        // auto_vacuum takes effect only before the first table is created (later it would need a full VACUUM).
        command.CommandText = "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
