namespace Jobs.Actors.Client;

/// <summary>
/// The ids ActorJobs gives tasks and canvases that arrive without one: UUIDs, as Celery's, but version 7 (RFC 9562),
/// whose first 48 bits are the time in milliseconds. Every store keyed by task id (the SQLite journal's primary key,
/// the monitor index's task and event keys) then inserts near its b-tree's end instead of at a random page, so a
/// transaction rewrites a few pages rather than one per task. Callers may still give any id of their own.
/// </summary>
public static class TaskIds
{
    public static string New() => Guid.CreateVersion7().ToString();
}
