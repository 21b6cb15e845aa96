using System.Text.Json;

namespace Jobs.Actors.Tasks;

/// <summary>
/// The state of one task, rebuilt from its events. <c>Decide</c> turns a command into events (or none, when the
/// command changes nothing); <c>Apply</c> folds an event in. Both are pure, so the rules are tested without actors.
/// </summary>
public sealed record TaskEntityState
{
    public required string TaskId { get; init; }
    public TaskState State { get; init; } = TaskState.Pending;
    public string? Name { get; init; }
    public JsonElement? Args { get; init; }
    public JsonElement? Kwargs { get; init; }
    public string? Queue { get; init; }
    public DateTimeOffset? ReceivedAt { get; init; }
    public DateTimeOffset? DueAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int Retries { get; init; }
    public string? Worker { get; init; }
    public double? Runtime { get; init; }
    public JsonElement? Result { get; init; }
    public TaskError? Error { get; init; }
    public string? RevokedReason { get; init; }

    public static TaskEntityState Empty(string taskId) => new() { TaskId = taskId };

    public bool IsKnown => State != TaskState.Pending;

    public bool IsReady => State.IsReady();

    /// <summary>
    /// Celery's <c>expires</c>: not started by then. A running attempt is not expired, whatever the time; if it ends
    /// in a retry, the next attempt is (a retry keeps the task's expiry).
    /// </summary>
    public bool IsExpired(DateTimeOffset now) => !IsReady && State != TaskState.Started && ExpiresAt is { } expires && expires <= now;

    public IReadOnlyList<ITaskEvent> Decide(SubmitTask command, DateTimeOffset now)
    {
        if (IsKnown)
            return [];
        return [new TaskReceived(command.TaskId, command.Name, command.Args, command.Kwargs, command.Queue,
            command.DueAt, command.ExpiresAt, now)];
    }

    /// <summary>
    /// The first terminal report wins; a report for another attempt than the current one is stale and ignored.
    /// </summary>
    public IReadOnlyList<ITaskEvent> Decide(CompleteAttempt command, DateTimeOffset now)
    {
        if (!IsKnown || IsReady || command.Retries != Retries)
            return [];
        return command.Outcome switch
        {
            AttemptOutcome.Succeeded => [new TaskSucceeded(TaskId, command.Result ?? NullJson, command.Worker,
                command.StartedAt, command.Runtime, now)],
            AttemptOutcome.Failed => [new TaskFailed(TaskId, command.Error ?? UnknownError, command.Worker,
                command.StartedAt, command.Runtime, now)],
            AttemptOutcome.Retry => [new TaskRetried(TaskId, Retries + 1, now.AddSeconds(command.RetryCountdown),
                command.Error ?? UnknownError, command.Worker, now)],
            AttemptOutcome.Expired => [new TaskRevoked(TaskId, RevocationReasons.Expired, now)],
            _ => throw new ArgumentOutOfRangeException(nameof(command), command.Outcome, "unknown attempt outcome"),
        };
    }

    /// <summary>Revoking is remembered even for an id not submitted yet; a finished task stays as it is.</summary>
    public IReadOnlyList<ITaskEvent> Decide(RevokeTask command, DateTimeOffset now) =>
        IsReady ? [] : [new TaskRevoked(TaskId, command.Terminate ? RevocationReasons.Terminated : RevocationReasons.Revoked, now)];

    /// <summary>A task not started by its <c>expires</c> time is revoked without running, as in Celery.</summary>
    public IReadOnlyList<ITaskEvent> DecideExpiry(DateTimeOffset now) =>
        IsExpired(now) ? [new TaskRevoked(TaskId, RevocationReasons.Expired, now)] : [];

    public TaskEntityState Apply(ITaskEvent @event) => @event switch
    {
        TaskReceived e => this with
        {
            State = TaskState.Received,
            Name = e.Name,
            Args = e.Args,
            Kwargs = e.Kwargs,
            Queue = e.Queue,
            ReceivedAt = e.Timestamp,
            DueAt = e.DueAt,
            ExpiresAt = e.ExpiresAt,
        },
        TaskRetried e => this with
        {
            State = TaskState.Retry,
            Retries = e.Retries,
            DueAt = e.DueAt,
            Error = e.Error,
            Worker = e.Worker,
            StartedAt = null,
        },
        TaskSucceeded e => this with
        {
            State = TaskState.Success,
            Result = e.Result,
            Error = null,
            Worker = e.Worker,
            StartedAt = e.StartedAt,
            Runtime = e.Runtime,
            FinishedAt = e.Timestamp,
        },
        TaskFailed e => this with
        {
            State = TaskState.Failure,
            Error = e.Error,
            Worker = e.Worker ?? Worker,
            StartedAt = e.StartedAt ?? StartedAt,
            Runtime = e.Runtime,
            FinishedAt = e.Timestamp,
        },
        TaskRevoked e => this with { State = TaskState.Revoked, RevokedReason = e.Reason, FinishedAt = e.Timestamp },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown task event"),
    };

    /// <summary>STARTED is not journaled (see <see cref="MarkTaskStarted"/>), so it is applied in memory.</summary>
    public TaskEntityState Apply(MarkTaskStarted started) =>
        IsReady || started.Retries != Retries
            ? this
            : this with { State = TaskState.Started, StartedAt = started.StartedAt, Worker = started.Worker };

    /// <summary>What survives a restart: the journaled state, with a started attempt back to waiting.</summary>
    public TaskEntityState AfterRecovery() =>
        State == TaskState.Started ? this with { State = Retries > 0 ? TaskState.Retry : TaskState.Received } : this;

    public TaskResult ToResult() => new(TaskId, State, Result, Error, Name, Retries, FinishedAt);

    public TaskInfo ToInfo() => new(TaskId, State, Name, Args, Kwargs, Queue, Retries, ReceivedAt, DueAt, ExpiresAt,
        StartedAt, FinishedAt, Runtime, Worker, Result, Error, RevokedReason);

    private static readonly JsonElement NullJson = JsonDocument.Parse("null").RootElement.Clone();

    private static readonly TaskError UnknownError = new("Exception", "the worker reported no error", "");
}

public static class RevocationReasons
{
    public const string Expired = "expired";
    public const string Revoked = "revoked";
    public const string Terminated = "terminated";
}
