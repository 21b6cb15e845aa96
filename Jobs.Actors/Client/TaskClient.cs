using System.Text.Json;
using Akka.Actor;
using Jobs.Actors.Persistence;
using Jobs.Actors.Serialization;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Client;

/// <summary>
/// Sends tasks by name (Celery's <c>send_task</c>: the caller needs no task code) and hands back
/// <see cref="AsyncResult"/> handles. Everything goes through the task shard region, so this works on any node.
/// </summary>
/// <remarks>
/// With <c>events</c> (DistributedPubSub's mediator) every submission publishes Celery's <c>task-sent</c>. A submission
/// that fails says whether the task was certainly not accepted (<see cref="TaskNotAcceptedException"/>) or may have been
/// (<see cref="TaskOutcomeUnknownException"/>); both name the task id, and sending again with that id is safe. Arguments
/// larger than <see cref="PayloadLimits.MaxArgumentsBytes"/> are refused here with <see cref="TaskTooLargeException"/>:
/// sent, remoting would drop them without a word.
/// </remarks>
public sealed class TaskClient(IActorRef tasks, TaskRoutes routes, TimeSpan submitTimeout, JournalHealth? journal = null, IActorRef? events = null,
    PayloadLimits? limits = null, ClientWaits? waits = null)
{
    private readonly PayloadLimits _limits = limits ?? PayloadLimits.Default;

    private static readonly JsonElement EmptyArgs = JsonDocument.Parse("[]").RootElement.Clone();
    private static readonly JsonElement EmptyKwargs = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>The task shard region: a documented target for <c>Ask&lt;TaskResult&gt;</c> with <see cref="ITaskCommand"/>s.</summary>
    public IActorRef Tasks { get; } = tasks;

    public TaskRoutes Routes { get; } = routes;

    /// <summary>Celery's <c>delay</c>: positional arguments only, default options.</summary>
    public Task<AsyncResult> DelayAsync(string name, params object?[] args) => SendTaskAsync(name, args);

    /// <summary>Celery's <c>apply_async</c> / <c>send_task</c> with .NET values, serialized as JSON.</summary>
    public Task<AsyncResult> SendTaskAsync(string name, IEnumerable<object?>? args = null,
        IReadOnlyDictionary<string, object?>? kwargs = null, TaskOptions? options = null, CancellationToken cancellationToken = default) =>
        SendTaskAsync(name,
            args is null ? EmptyArgs : JsonSerializer.SerializeToElement(args),
            kwargs is null ? EmptyKwargs : JsonSerializer.SerializeToElement(kwargs),
            options, cancellationToken);

    /// <summary>Sends with arguments already in JSON. Completes once the task is journaled.</summary>
    public async Task<AsyncResult> SendTaskAsync(string name, JsonElement? args, JsonElement? kwargs,
        TaskOptions? options = null, CancellationToken cancellationToken = default)
    {
        var command = ToCommand(name, args, kwargs, options ?? new TaskOptions(), awaitResult: false);
        RefuseWhenTooLarge(command);
        RefuseWhenJournalIsDown(command);
        Sent(command);
        var accepted = await AskWriteAsync(command, $"task {command.TaskId}", cancellationToken).ConfigureAwait(false);
        return new AsyncResult(this, command.TaskId, accepted);
    }

    /// <summary>
    /// Sends and waits for the result in one message: the task entity answers once it is ready. The submission is
    /// sent again now and then while no answer came (it is idempotent), so a task that moved meanwhile still answers.
    /// </summary>
    /// <exception cref="AskTimeoutException">No result within <paramref name="timeout"/>; the task may still run.</exception>
    public Task<TaskResult> ApplyAsync(string name, JsonElement? args, JsonElement? kwargs, TaskOptions? options,
        TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var command = ToCommand(name, args, kwargs, options ?? new TaskOptions(), awaitResult: true);
        RefuseWhenTooLarge(command);
        RefuseWhenJournalIsDown(command);
        Sent(command);
        return Waits.AskUntilAnsweredAsync<TaskResult>(Tasks, command, timeout, failureEnds: _ => true, cancellationToken);
    }

    private void Sent(SubmitTask command) =>
        events?.Tell(new Akka.Cluster.Tools.PublishSubscribe.Publish(Monitoring.MonitoringTopics.Tasks,
            Monitoring.TaskEvents.Sent(command, DateTimeOffset.UtcNow)));

    /// <summary>Arguments are counted as sent (JSON-escaped), the size remoting's frame limit applies to.</summary>
    private void RefuseWhenTooLarge(SubmitTask command)
    {
        if (PayloadSize.Exceeds(_limits.MaxArgumentsBytes, out var size, command.Args, command.Kwargs))
            throw new TaskTooLargeException(command.TaskId,
                $"task {command.TaskId} was not accepted: its arguments are {size} bytes as sent (JSON-escaped); the limit is {_limits.MaxArgumentsBytes} (jobs.tasks.max-arguments-size)");
    }

    /// <summary>A submission the journal cannot take is refused now, with the reason, instead of timing out.</summary>
    private void RefuseWhenJournalIsDown(SubmitTask command)
    {
        if (journal?.Problem is { } problem)
            throw new TaskNotAcceptedException(command.TaskId, $"task {command.TaskId} was not accepted: {problem}; nothing was stored");
    }

    /// <summary>A command that writes, answered once its write is journaled; no answer in time leaves its outcome unknown.</summary>
    private async Task<TaskResult> AskWriteAsync(ITaskCommand command, string subject, CancellationToken cancellationToken)
    {
        object answer;
        try
        {
            answer = await Tasks.Ask<object>(command, submitTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            throw new TaskOutcomeUnknownException(command.TaskId,
                $"{subject} was not acknowledged within {submitTimeout.TotalSeconds:0.###} s: the journal or the cluster is unavailable or " +
                "overloaded; it may or may not have been accepted");
        }
        return answer switch
        {
            TaskResult result => result,
            CommandFailed failed => throw CommandFailures.ForWrite(failed),
            _ => throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} to {command.GetType().Name}"),
        };
    }

    /// <summary>A read: a <see cref="CommandFailed"/> answer means the task could not be read now.</summary>
    internal async Task<T> AskReadAsync<T>(ITaskCommand command, CancellationToken cancellationToken)
    {
        var answer = await Tasks.Ask<object>(command, submitTimeout, cancellationToken).ConfigureAwait(false);
        return answer switch
        {
            T read => read,
            CommandFailed failed => throw new TaskUnavailableException(failed.Id, failed.Reason),
            _ => throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} to {command.GetType().Name}"),
        };
    }

    /// <summary>A handle on any task id, sent from here or elsewhere.</summary>
    public AsyncResult AsyncResult(string taskId) => new(this, taskId, null);

    /// <summary>Revokes a task, persistently and cluster-wide; with <paramref name="terminate"/> a running attempt's slot is freed.</summary>
    public Task<TaskResult> RevokeAsync(string taskId, bool terminate = false, CancellationToken cancellationToken = default) =>
        AskWriteAsync(new RevokeTask(taskId, terminate), $"the revoke of task {taskId}", cancellationToken);

    /// <summary>
    /// Forgets a finished task's result now (Celery's <c>forget()</c>). Answers the task's PENDING <see cref="TaskResult"/>,
    /// or <see cref="ForgetRefused"/> for a task not finished (nothing changes).
    /// </summary>
    public async Task<IJobsMessage> ForgetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        var answer = await Tasks.Ask<object>(new ForgetTaskResult(taskId), submitTimeout, cancellationToken).ConfigureAwait(false);
        return answer switch
        {
            TaskResult result => result,
            ForgetRefused refused => refused,
            CommandFailed failed => throw new TaskUnavailableException(failed.Id, failed.Reason),
            _ => throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} to {nameof(ForgetTaskResult)}"),
        };
    }

    public Task<TaskInfo> GetInfoAsync(string taskId, CancellationToken cancellationToken = default) =>
        AskReadAsync<TaskInfo>(new GetTaskInfo(taskId), cancellationToken);

    public SubmitTask ToCommand(string name, JsonElement? args, JsonElement? kwargs, TaskOptions options, bool awaitResult)
    {
        var now = DateTimeOffset.UtcNow;
        var due = options.Eta ?? (options.Countdown is { } countdown ? now + countdown : null);
        var expires = options.Expires ?? (options.ExpiresIn is { } expiresIn ? now + expiresIn : null);
        return new SubmitTask(
            options.TaskId ?? TaskIds.New(),
            name,
            args is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } a ? a : EmptyArgs,
            kwargs is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } k ? k : EmptyKwargs,
            Routes.QueueFor(name, options.Queue),
            due,
            expires,
            awaitResult,
            options.ResultExpires is { } keep && keep < TimeSpan.Zero
                ? throw new ArgumentOutOfRangeException(nameof(options), keep, "ResultExpires must not be negative (zero keeps the result for ever)")
                : options.ResultExpires,
            options.IgnoreResult);
    }

    /// <summary>How long waits without a timeout of their own last, and how often waiters ask again.</summary>
    public ClientWaits Waits { get; } = waits ?? ClientWaits.Default;
}
