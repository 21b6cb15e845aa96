using System.Text.Json;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Client;

/// <summary>
/// Celery's <c>AsyncResult</c>: a handle on one task id. <see cref="GetAsync{T}"/> waits by message (the task
/// entity answers when the task is ready), never by polling.
/// </summary>
public sealed class AsyncResult
{
    private readonly TaskClient _client;

    internal AsyncResult(TaskClient client, string taskId, TaskResult? last)
    {
        _client = client;
        TaskId = taskId;
        Last = last;
    }

    public string TaskId { get; }

    /// <summary>The latest answer of the task entity, if any was fetched.</summary>
    public TaskResult? Last { get; private set; }

    public TaskState State => Last?.State ?? TaskState.Pending;

    public bool Ready => Last?.Ready ?? false;

    public JsonElement? Result => Last?.Result;

    public TaskError? Exception => Last?.Error;

    public string? Traceback => Last?.Error?.Traceback;

    /// <summary>Asks the task entity for the current state.</summary>
    public async Task<TaskState> GetStateAsync(CancellationToken cancellationToken = default)
    {
        Last = await _client.AskReadAsync<TaskResult>(new GetTaskResult(TaskId), cancellationToken).ConfigureAwait(false);
        return Last.State;
    }

    /// <summary>
    /// Waits until the task is ready and returns its result as <typeparamref name="T"/>. With
    /// <paramref name="propagate"/> a failure or revocation throws <see cref="TaskFailedException"/>; without, it
    /// returns default and the error is in <see cref="Exception"/>. Throws <see cref="TimeoutException"/> after
    /// <paramref name="timeout"/> (without one, after <see cref="ClientWaits.DefaultTimeout"/>: an hour by default).
    /// </summary>
    public async Task<T?> GetAsync<T>(TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default)
    {
        var result = await WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        if (result.State == TaskState.Success)
            return result.Result is { } json ? json.Deserialize<T>(JsonSerializerOptions.Web) : default;
        if (propagate)
            throw new TaskFailedException(result);
        return default;
    }

    /// <summary>
    /// Waits until the task is ready and returns the entity's answer, whatever the outcome. The wait is asked again
    /// now and then (<see cref="ClientWaits.ReaskInterval"/>), so it survives the task's entity restarting or moving
    /// to another node, which forgets who waits.
    /// </summary>
    public async Task<TaskResult> WaitAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var waits = _client.Waits;
        var limit = timeout ?? waits.DefaultTimeout;
        try
        {
            Last = await waits.AskUntilAnsweredAsync<TaskResult>(_client.Tasks, new AwaitTaskResult(TaskId), limit, failureEnds: _ => false,
                cancellationToken).ConfigureAwait(false);
            return Last;
        }
        catch (Akka.Actor.AskTimeoutException e)
        {
            throw new TimeoutException($"task {TaskId} was not ready within {limit}", e);
        }
    }
}

/// <summary>The task ended in FAILURE or REVOKED; the remote exception is in <see cref="Error"/>.</summary>
public sealed class TaskFailedException(TaskResult result) : Exception(
    result.State == TaskState.Revoked
        ? $"task {result.TaskId} was revoked"
        : $"task {result.TaskId} failed: {result.Error?.Type}: {result.Error?.Message}")
{
    public TaskResult TaskResult { get; } = result;

    public TaskError? Error => TaskResult.Error;
}
