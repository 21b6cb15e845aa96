using Jobs.Actors.Monitoring;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>The task index's positional statements: what they change, their errors, and reuse after one.</summary>
public sealed class PreparedStatementSpec : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public PreparedStatementSpec()
    {
        _connection.Open();
        using var create = _connection.CreateCommand();
        create.CommandText = "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, x REAL, body TEXT NOT NULL)";
        create.ExecuteNonQuery();
    }

    [Fact]
    public void It_counts_the_rows_it_changed_and_stores_each_type_and_null()
    {
        using var insert = new PreparedStatement(_connection, "INSERT OR IGNORE INTO t (id, n, x, body) VALUES (?1, ?2, ?3, ?4)");
        insert.Bind(1, "a");
        insert.Bind(2, 7L);
        insert.Bind(3, (double?)null);
        insert.Bind(4, "é"u8);
        Assert.Equal(1, insert.Execute());
        // Bindings stay until replaced: the same row again is ignored.
        Assert.Equal(0, insert.Execute());
        using var read = _connection.CreateCommand();
        read.CommandText = "SELECT typeof(n), n, typeof(x), body FROM t";
        using var reader = read.ExecuteReader();
        Assert.True(reader.Read());
        Assert.Equal(("integer", 7L, "null", "é"), (reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3)));
    }

    [Fact]
    public void A_failed_step_throws_sqlites_message_and_the_statement_runs_again_after()
    {
        using var insert = new PreparedStatement(_connection, "INSERT INTO t (id, body) VALUES ($id, $body)");
        Assert.Equal((1, 2), (insert.Slot("$id"), insert.Slot("$body")));
        insert.Bind(1, "a");
        insert.Bind(2, (string?)null);
        var error = Assert.Throws<SqliteException>(() => insert.Execute());
        Assert.Contains("NOT NULL constraint failed: t.body", error.Message);
        insert.Bind(2, "ok");
        Assert.Equal(1, insert.Execute());
        Assert.Throws<ArgumentException>(() => insert.Slot("$nope"));
        Assert.Throws<SqliteException>(() => new PreparedStatement(_connection, "INSERT INTO nowhere VALUES (1)"));
    }

    public void Dispose() => _connection.Dispose();
}
