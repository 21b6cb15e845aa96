namespace Jobs.Actors.Tasks;

/// <summary>Celery's <c>Retry</c>: thrown from a body through <see cref="TaskContext.Retry"/> to ask for another attempt.</summary>
public sealed class TaskRetryException(Exception? cause, TimeSpan? countdown, int? maxRetries)
    : Exception(cause is null ? "Retry requested" : $"Retry requested: {cause.Message}", cause)
{
    public TimeSpan? Countdown { get; } = countdown;

    public int? MaxRetries { get; } = maxRetries;
}

public sealed class MaxRetriesExceededException(string taskName, int maxRetries)
    : Exception($"Can't retry {taskName}: max retries ({maxRetries}) exceeded");

/// <summary>Arguments that do not bind to the task's parameters; the message names the parameter.</summary>
public sealed class TaskArgumentException(string message, string? parameterName = null) : Exception(message)
{
    public string? ParameterName { get; } = parameterName;
}

/// <summary>A task returned a value that cannot be written as JSON.</summary>
public sealed class ResultSerializationException(string message, Exception inner) : Exception(message, inner);

public sealed class DuplicateTaskNameException(string message) : Exception(message);

public sealed class InvalidTaskDefinitionException(string message) : Exception(message);

/// <summary>
/// The soft time limit passed: the body's token was cancelled and the body gave up (Celery's
/// <c>SoftTimeLimitExceeded</c>). A body may catch the cancellation and finish cleanly instead.
/// </summary>
public sealed class SoftTimeLimitExceededException(string taskName, TimeSpan limit, Exception cause)
    : Exception($"{taskName} exceeded its soft time limit of {limit.TotalSeconds:0.###} s", cause);
