using System.Text.Json;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Monitoring;

/// <summary>Turns journaled task events (and the in-memory start) into Celery's events.</summary>
public static class TaskEvents
{
    /// <summary>
    /// The Celery event of a journaled event. Only <see cref="TaskReceived"/> carries the name and arguments;
    /// the task entity adds them to the others from its state, the journal replay leaves them to the index row.
    /// </summary>
    public static TaskEvent From(ITaskEvent journaled) => journaled switch
    {
        TaskReceived e => new TaskEvent(EventTypes.TaskReceived, e.TaskId, e.Name, "RECEIVED", e.Timestamp,
            Args: e.Args, Kwargs: e.Kwargs, Queue: e.Queue, Eta: e.DueAt, Expires: e.ExpiresAt),
        TaskRetried e => new TaskEvent(EventTypes.TaskRetried, e.TaskId, null, "RETRY", e.Timestamp, e.Worker,
            Exception: Repr(e.Error), Traceback: e.Error.Traceback, Retries: e.Retries, Eta: e.DueAt),
        TaskSucceeded e => new TaskEvent(EventTypes.TaskSucceeded, e.TaskId, null, "SUCCESS", e.Timestamp, e.Worker,
            Result: e.Result, Runtime: e.Runtime, Started: e.StartedAt),
        TaskFailed e => new TaskEvent(EventTypes.TaskFailed, e.TaskId, null, "FAILURE", e.Timestamp, e.Worker,
            Exception: Repr(e.Error), Traceback: e.Error.Traceback, Runtime: e.Runtime, Started: e.StartedAt),
        TaskRevoked e => new TaskEvent(EventTypes.TaskRevoked, e.TaskId, null, "REVOKED", e.Timestamp,
            Reason: e.Reason),
        _ => throw new ArgumentOutOfRangeException(nameof(journaled), journaled.GetType().Name, "unknown task event"),
    };

    /// <summary>
    /// As published by the entity: the journaled event, numbered <paramref name="sequenceNr"/> in the task's journal,
    /// with what the entity knows of the task.
    /// </summary>
    public static TaskEvent From(ITaskEvent journaled, TaskEntityState after, long sequenceNr = 0) => From(journaled) with
    {
        JournalSequenceNr = sequenceNr,
        Name = after.Name,
        Args = after.Args,
        Kwargs = after.Kwargs,
        Queue = after.Queue,
        Retries = after.Retries,
    };

    public static TaskEvent Started(MarkTaskStarted started, TaskEntityState after) =>
        new(EventTypes.TaskStarted, started.TaskId, after.Name, "STARTED", started.StartedAt, started.Worker,
            Args: after.Args, Kwargs: after.Kwargs, Retries: started.Retries, Queue: after.Queue, Started: started.StartedAt);

    public static TaskEvent Sent(SubmitTask submit, DateTimeOffset now) =>
        new(EventTypes.TaskSent, submit.TaskId, submit.Name, "PENDING", now, Args: submit.Args, Kwargs: submit.Kwargs,
            Queue: submit.Queue, Eta: submit.DueAt, Expires: submit.ExpiresAt);

    /// <summary>Celery's repr of an exception, e.g. <c>ValueError("it broke")</c>.</summary>
    public static string Repr(TaskError error) => $"{error.Type}({JsonSerializer.Serialize(error.Message)})";
}
