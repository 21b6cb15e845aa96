using System.Text.Json;
using Akka.Actor;

namespace Jobs.Actors.Tasks;

/// <summary>Every message a task entity accepts; the sharding extractor routes it by <see cref="TaskId"/>.</summary>
public interface ITaskCommand : IJobsMessage
{
    string TaskId { get; }
}

/// <summary>What a task entity journals: its lifecycle, the single source of truth for the task's state.</summary>
public interface ITaskEvent : IJobsMessage
{
    string TaskId { get; }
    DateTimeOffset Timestamp { get; }
}

/// <summary>What Celery's result backend keeps of a failure: exception type, message and traceback.</summary>
public sealed record TaskError(string Type, string Message, string Traceback) : IJobsMessage
{
    public static TaskError From(Exception exception) =>
        new(exception.GetType().Name, exception.Message, UserFrames(exception));

    /// <summary>The exception's text without the frames of our own invocation machinery, which say nothing to users.</summary>
    private static string UserFrames(Exception exception) =>
        string.Join('\n', exception.ToString().Split('\n').Where(line => !InfrastructureFrames.Any(line.Contains)));

    private static readonly string[] InfrastructureFrames =
        ["at System.Reflection.", "at InvokeStub_", "at Jobs.Actors.Tasks.TaskDefinition.", "at Akka.Actor.PipeToSupport.", "--- End of stack trace from previous location ---"];
}

/// <summary>
/// Accepts a task. Replied to with a <see cref="TaskResult"/> once <see cref="TaskReceived"/> is journaled
/// (or, with <see cref="AwaitResult"/>, once the task is ready), or with a <see cref="CommandFailed"/> when the
/// journal did not confirm the write. Submitting an id that already exists changes nothing and answers its current
/// state, so a client may safely resend after a timeout. <see cref="ResultExpires"/> and <see cref="IgnoreResult"/> are
/// the call's retention (Celery's <c>result_expires</c>, <c>ignore_result</c>); null leaves it to the task and the node.
/// <see cref="JournalWithOutcome"/> (with <see cref="AwaitResult"/>, for a task due now) is for a submitter that sends the
/// submission again until it has the result, as a canvas coordinator does: nobody is told the task was accepted before
/// it is finished, so its acceptance is journaled with its first attempt's outcome, in one write instead of two.
/// </summary>
public sealed record SubmitTask(
    string TaskId,
    string Name,
    JsonElement Args,
    JsonElement Kwargs,
    string Queue,
    DateTimeOffset? DueAt = null,
    DateTimeOffset? ExpiresAt = null,
    bool AwaitResult = false,
    TimeSpan? ResultExpires = null,
    bool? IgnoreResult = null,
    bool JournalWithOutcome = false) : ITaskCommand;

/// <summary>Answers the task's <see cref="TaskResult"/> now; an unknown id (or an expired result) is PENDING, as in Celery.</summary>
public sealed record GetTaskResult(string TaskId) : ITaskCommand;

/// <summary>
/// Celery's <c>AsyncResult.forget()</c>: a finished task's journal is purged now. Answered, once purged, with its
/// <see cref="TaskResult"/> (PENDING); for a task not finished with <see cref="ForgetRefused"/> (an unfinished task is
/// never forgotten); with <see cref="CommandFailed"/> when the purge failed (the result may remain; asking again is safe).
/// </summary>
public sealed record ForgetTaskResult(string TaskId) : ITaskCommand;

/// <summary>The task is not finished (or not known), so its result cannot be forgotten; nothing changed.</summary>
public sealed record ForgetRefused(string TaskId, TaskState State) : IJobsMessage;

/// <summary>
/// Answers the task's <see cref="TaskResult"/> once it is ready. Waiting is by message, never polling. The waiter is
/// kept in memory only, so a waiter sends this again now and then: a task that moved to another node (or restarted)
/// then knows it again.
/// </summary>
public sealed record AwaitTaskResult(string TaskId) : ITaskCommand;

/// <summary>Answers a <see cref="TaskInfo"/>: everything known about the task.</summary>
public sealed record GetTaskInfo(string TaskId) : ITaskCommand;

/// <summary>
/// Celery's revoke, but persistent and cluster-wide: the task never runs if it has not started (even after a full
/// restart, and even if it is submitted only later); a running attempt has its token cancelled, and with
/// <see cref="Terminate"/> its slot is freed at once. Answered with the task's <see cref="TaskResult"/>.
/// </summary>
public sealed record RevokeTask(string TaskId, bool Terminate = false) : ITaskCommand;

/// <summary>A worker began an attempt. Kept in memory only: a crash re-runs the attempt anyway (acks late).</summary>
public sealed record MarkTaskStarted(string TaskId, int Retries, string Worker, IActorRef WorkerRef, DateTimeOffset StartedAt)
    : ITaskCommand;

/// <summary>Travels between nodes by name, so nodes of different versions never misread an outcome.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<AttemptOutcome>))]
public enum AttemptOutcome
{
    Succeeded = 0,
    Failed = 1,
    Retry = 2,
    Expired = 3,
}

/// <summary>
/// A worker finished an attempt. <see cref="Retries"/> names the attempt, so the report of a stale delivery
/// (a re-run after a worker was presumed dead) cannot overwrite a newer one; the first terminal report wins.
/// Answered with <see cref="AttemptRecorded"/> once journaled (or at once when it changes nothing); the worker
/// sends it again until then, so a lost report is not a task STARTED for ever. <see cref="ResultExpires"/> and
/// <see cref="IgnoreResult"/> are the task definition's (<see cref="JobsTaskAttribute"/>); a call's own win.
/// <see cref="StartUnreported"/>: the body ended before the worker reported it started (<c>jobs.worker.started-report-delay</c>), so the entity publishes the
/// attempt's task-started event itself.
/// </summary>
public sealed record CompleteAttempt(
    string TaskId,
    int Retries,
    AttemptOutcome Outcome,
    string Worker,
    DateTimeOffset StartedAt,
    double Runtime,
    JsonElement? Result = null,
    TaskError? Error = null,
    double RetryCountdown = 0,
    TimeSpan? ResultExpires = null,
    bool? IgnoreResult = null,
    bool StartUnreported = false) : ITaskCommand;

// The entity <-> worker hop after MarkTaskStarted: the report is acknowledged, and a started attempt with no report
// is checked with its worker, because a worker that is alive but lost the attempt never fires DeathWatch.

/// <summary>The entity journaled (or had already settled) the report of attempt <see cref="Retries"/>: stop resending it.</summary>
public sealed record AttemptRecorded(string TaskId, int Retries) : IJobsMessage;

/// <summary>
/// Sent by an entity to the worker of its started attempt every <c>jobs.tasks.attempt-check-interval</c> while no report
/// has come. Answered with <see cref="AttemptStatus"/>; a worker holding the attempt's unacknowledged report sends it again.
/// </summary>
public sealed record CheckAttempt(string TaskId, int Retries) : IJobsMessage;

/// <summary>
/// <see cref="Running"/> is false when the worker neither runs the attempt nor holds its report: the entity then
/// runs the attempt again.
/// </summary>
public sealed record AttemptStatus(string TaskId, int Retries, bool Running) : IJobsMessage;

/// <summary>
/// Told by a queue that ended a lease its worker turned out not to hold (the batch carrying it was lost, or the
/// worker's hand-back was): the entity enqueues attempt <see cref="Retries"/> again if it is still waiting for it,
/// and ignores this if the attempt started or finished meanwhile.
/// </summary>
public sealed record LeaseLost(string TaskId, int Retries) : ITaskCommand;

public sealed record TaskReceived(
    string TaskId,
    string Name,
    JsonElement Args,
    JsonElement Kwargs,
    string Queue,
    DateTimeOffset? DueAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset Timestamp,
    TimeSpan? ResultExpires = null,
    bool? IgnoreResult = null) : ITaskEvent;

/// <summary>
/// A finished task's event: after <see cref="ResultExpiresAt"/> its result is gone (null: kept for ever). The journal's
/// expiry index is written from it in the same write (<c>Retention.TaskEventAdapters</c>).
/// </summary>
public interface ITaskFinished : ITaskEvent
{
    DateTimeOffset? ResultExpiresAt { get; }
}

/// <summary>An attempt failed and attempt number <see cref="Retries"/> + 1 is due at <see cref="DueAt"/>.</summary>
public sealed record TaskRetried(string TaskId, int Retries, DateTimeOffset DueAt, TaskError Error, string Worker, DateTimeOffset Timestamp)
    : ITaskEvent;

public sealed record TaskSucceeded(string TaskId, JsonElement Result, string Worker, DateTimeOffset StartedAt, double Runtime, DateTimeOffset Timestamp,
    DateTimeOffset? ResultExpiresAt = null) : ITaskFinished;

public sealed record TaskFailed(string TaskId, TaskError Error, string? Worker, DateTimeOffset? StartedAt, double? Runtime, DateTimeOffset Timestamp,
    DateTimeOffset? ResultExpiresAt = null) : ITaskFinished;

public sealed record TaskRevoked(string TaskId, string Reason, DateTimeOffset Timestamp, DateTimeOffset? ResultExpiresAt = null) : ITaskFinished;


/// <summary>
/// The answer to a command that was not carried out: its write was not confirmed by the journal, or its entity stopped
/// or could not start before handling it. With <see cref="OutcomeUnknown"/> the write may still have been stored (it
/// timed out, or the connection dropped after it was sent), so a submitted task may exist and run; without it nothing
/// was stored. <see cref="Id"/> is the task's (or canvas's) id: sending the same command again, with the same id, is
/// safe either way. A message rather than a <see cref="Status.Failure"/>, so it keeps its fields across nodes.
/// </summary>
public sealed record CommandFailed(string Id, string Reason, bool OutcomeUnknown = false) : IJobsMessage;

/// <summary>The reply of a task entity: what Celery's <c>AsyncResult</c> shows.</summary>
public sealed record TaskResult(
    string TaskId,
    TaskState State,
    JsonElement? Result = null,
    TaskError? Error = null,
    string? Name = null,
    int Retries = 0,
    DateTimeOffset? DateDone = null) : IJobsMessage
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Ready => State.IsReady();
}

/// <summary>Everything a task entity knows: the shape behind Flower's <c>/api/task/info</c>.</summary>
public sealed record TaskInfo(
    string TaskId,
    TaskState State,
    string? Name,
    JsonElement? Args,
    JsonElement? Kwargs,
    string? Queue,
    int Retries,
    DateTimeOffset? Received,
    DateTimeOffset? Eta,
    DateTimeOffset? Expires,
    DateTimeOffset? Started,
    DateTimeOffset? Finished,
    double? Runtime,
    string? Worker,
    JsonElement? Result,
    TaskError? Error,
    string? RevokedReason,
    DateTimeOffset? ResultExpires = null,
    bool ResultExpired = false) : IJobsMessage;
