using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// One statement prepared on an open connection's handle and bound by position. Microsoft.Data.Sqlite looks up
/// every parameter by name and walks its statement list on each execution, which cost the task index as much as
/// SQLite's own work on its two hot statements; this binds a slot and steps. It runs inside whatever transaction
/// the connection has open, and must be disposed before the connection.
/// </summary>
internal sealed class PreparedStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public PreparedStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        Check(raw.sqlite3_prepare_v2(_db, sql, out _statement));
    }

    /// <summary>The slot of a named parameter (<c>$uuid</c>), 1-based, for the Bind calls.</summary>
    public int Slot(string name)
    {
        var slot = raw.sqlite3_bind_parameter_index(_statement, name);
        if (slot == 0)
            throw new ArgumentException($"the statement has no parameter {name}", nameof(name));
        return slot;
    }

    public void Bind(int slot, string? value) =>
        Check(value is null ? raw.sqlite3_bind_null(_statement, slot) : raw.sqlite3_bind_text(_statement, slot, value));

    /// <summary>Binds UTF-8 text; SQLite copies it, so the buffer may be reused once this returns.</summary>
    public void Bind(int slot, ReadOnlySpan<byte> utf8) => Check(raw.sqlite3_bind_text(_statement, slot, utf8));

    public void Bind(int slot, double? value) =>
        Check(value is { } v ? raw.sqlite3_bind_double(_statement, slot, v) : raw.sqlite3_bind_null(_statement, slot));

    public void Bind(int slot, long? value) =>
        Check(value is { } v ? raw.sqlite3_bind_int64(_statement, slot, v) : raw.sqlite3_bind_null(_statement, slot));

    /// <summary>Runs the statement to its end and makes it ready for the next bindings; returns the rows it changed.</summary>
    public int Execute()
    {
        var rc = raw.sqlite3_step(_statement);
        // Reset before throwing, so that a failed step does not leave the statement holding its read of the database.
        var reset = raw.sqlite3_reset(_statement);
        if (rc is not (raw.SQLITE_DONE or raw.SQLITE_ROW))
            Check(rc);
        Check(reset);
        return raw.sqlite3_changes(_db);
    }

    private void Check(int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
            SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Dispose() => _statement.Dispose();
}
