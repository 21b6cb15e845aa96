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

    /// <summary>The call's retention (from <see cref="TaskReceived"/>); null leaves it to the task definition and the node.</summary>
    public TimeSpan? CallResultExpires { get; init; }

    public bool? CallIgnoreResult { get; init; }

    /// <summary>The node's <c>jobs.tasks.result-expires</c>: what a result is kept for when neither call nor task says.</summary>
    public TimeSpan DefaultResultExpires { get; init; } = TimeSpan.FromDays(1);

    /// <summary>When the finished task's result expires (journaled with its final event); null: never.</summary>
    public DateTimeOffset? ResultExpiresAt { get; init; }

    public static TaskEntityState Empty(string taskId) => new() { TaskId = taskId };

    public static TaskEntityState Empty(string taskId, TimeSpan defaultResultExpires) =>
        new() { TaskId = taskId, DefaultResultExpires = defaultResultExpires };

    /// <summary>
    /// A finished result past its expiry: read as PENDING (as Celery reads an expired result) until the sweeper purges
    /// it. Unfinished tasks never expire.
    /// </summary>
    public bool IsResultExpired(DateTimeOffset now) => IsReady && ResultExpiresAt is { } at && at <= now;

    /// <summary>
    /// Celery's precedence: the call's option, then the task's, then the node's; <c>ignore_result</c> expires the result as
    /// it is stored; an expiry of zero keeps it for ever.
    /// </summary>
    public DateTimeOffset? ResultExpiryFor(DateTimeOffset finished, TimeSpan? taskResultExpires = null, bool? taskIgnoreResult = null)
    {
        if (CallIgnoreResult ?? taskIgnoreResult ?? false)
            return finished;
        var keep = CallResultExpires ?? taskResultExpires ?? DefaultResultExpires;
        return keep > TimeSpan.Zero ? finished + keep : null;
    }

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
            command.DueAt, command.ExpiresAt, now, command.ResultExpires, command.IgnoreResult)];
    }

    /// <summary>
    /// The first terminal report wins; a report for another attempt than the current one is stale and ignored.
    /// </summary>
    public IReadOnlyList<ITaskEvent> Decide(CompleteAttempt command, DateTimeOffset now)
    {
        if (!IsKnown || IsReady || command.Retries != Retries)
            return [];
        var expiresAt = ResultExpiryFor(now, command.ResultExpires, command.IgnoreResult);
        return command.Outcome switch
        {
            AttemptOutcome.Succeeded => [new TaskSucceeded(TaskId, command.Result ?? NullJson, command.Worker,
                command.StartedAt, command.Runtime, now, expiresAt)],
            AttemptOutcome.Failed => [new TaskFailed(TaskId, command.Error ?? UnknownError, command.Worker,
                command.StartedAt, command.Runtime, now, expiresAt)],
            AttemptOutcome.Retry => [new TaskRetried(TaskId, Retries + 1, now.AddSeconds(command.RetryCountdown),
                command.Error ?? UnknownError, command.Worker, now)],
            AttemptOutcome.Expired => [new TaskRevoked(TaskId, RevocationReasons.Expired, now, expiresAt)],
            _ => throw new ArgumentOutOfRangeException(nameof(command), command.Outcome, "unknown attempt outcome"),
        };
    }

    /// <summary>Revoking is remembered even for an id not submitted yet; a finished task stays as it is.</summary>
    public IReadOnlyList<ITaskEvent> Decide(RevokeTask command, DateTimeOffset now) =>
        IsReady ? [] : [new TaskRevoked(TaskId, command.Terminate ? RevocationReasons.Terminated : RevocationReasons.Revoked, now,
            ResultExpiryFor(now))];

    /// <summary>A task not started by its <c>expires</c> time is revoked without running, as in Celery.</summary>
    public IReadOnlyList<ITaskEvent> DecideExpiry(DateTimeOffset now) =>
        IsExpired(now) ? [new TaskRevoked(TaskId, RevocationReasons.Expired, now, ResultExpiryFor(now))] : [];

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
            CallResultExpires = e.ResultExpires,
            CallIgnoreResult = e.IgnoreResult,
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
            ResultExpiresAt = e.ResultExpiresAt,
        },
        TaskFailed e => this with
        {
            State = TaskState.Failure,
            Error = e.Error,
            Worker = e.Worker ?? Worker,
            StartedAt = e.StartedAt ?? StartedAt,
            Runtime = e.Runtime,
            FinishedAt = e.Timestamp,
            ResultExpiresAt = e.ResultExpiresAt,
        },
        TaskRevoked e => this with { State = TaskState.Revoked, RevokedReason = e.Reason, FinishedAt = e.Timestamp, ResultExpiresAt = e.ResultExpiresAt },
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

    /// <summary>What a reader sees at <paramref name="now"/>: an expired result reads as PENDING.</summary>
    public TaskResult ToResult(DateTimeOffset now) => IsResultExpired(now) ? new TaskResult(TaskId, TaskState.Pending) : ToResult();

    /// <summary>An expired result says only that it expired, and when.</summary>
    public TaskInfo ToInfo(DateTimeOffset now) => IsResultExpired(now)
        ? new TaskInfo(TaskId, TaskState.Pending, Name, null, null, Queue, Retries, ReceivedAt, null, null, null, FinishedAt, null, null, null, null,
            null, ResultExpiresAt, ResultExpired: true)
        : new TaskInfo(TaskId, State, Name, Args, Kwargs, Queue, Retries, ReceivedAt, DueAt, ExpiresAt,
            StartedAt, FinishedAt, Runtime, Worker, Result, Error, RevokedReason, ResultExpiresAt);

    private static readonly JsonElement NullJson = JsonDocument.Parse("null").RootElement.Clone();

    private static readonly TaskError UnknownError = new("Exception", "the worker reported no error", "");
}

public static class RevocationReasons
{
    public const string Expired = "expired";
    public const string Revoked = "revoked";
    public const string Terminated = "terminated";
}
