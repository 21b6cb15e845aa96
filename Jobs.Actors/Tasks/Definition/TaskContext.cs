using System.Text.Json;

namespace Jobs.Actors.Tasks;

/// <summary>What a body may know of its request (Celery's <c>self.request</c>), injected when a parameter asks for it.</summary>
public sealed class TaskContext(
    string taskId,
    string name,
    int retries,
    int maxRetries,
    JsonElement args,
    JsonElement kwargs,
    string queue,
    string hostname,
    TaskLogger logger,
    CancellationToken cancellationToken)
{
    public string TaskId { get; } = taskId;
    public string Name { get; } = name;

    /// <summary>Retries done before this attempt: 0 on the first attempt, like Celery's <c>request.retries</c>.</summary>
    public int Retries { get; } = retries;

    public int Attempt => Retries + 1;
    public int MaxRetries { get; } = maxRetries;

    /// <summary>Retries still allowed; null when unlimited.</summary>
    public int? RetriesLeft => MaxRetries < 0 ? null : Math.Max(0, MaxRetries - Retries);

    public JsonElement Args { get; } = args;
    public JsonElement Kwargs { get; } = kwargs;
    public string Queue { get; } = queue;
    public string Hostname { get; } = hostname;
    public TaskLogger Logger { get; } = logger;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>Celery's <c>self.retry</c>. Use it as <c>throw ctx.Retry(exc, TimeSpan.FromSeconds(5));</c></summary>
    public TaskRetryException Retry(Exception? exception = null, TimeSpan? countdown = null, int? maxRetries = null) =>
        new(exception, countdown, maxRetries);
}
