using Akka.Configuration;
using Microsoft.Data.Sqlite;

namespace Jobs.Actors.Persistence.Sqlite;

/// <summary>
/// Prepares the embedded journal's file before the plugin opens it: write-ahead logging, so a commit appends to
/// one log instead of rewriting the database through a rollback journal. The setting lives in the file.
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
        command.CommandText = "PRAGMA journal_mode=WAL;";
        command.ExecuteNonQuery();
    }
}
