namespace Jobs.Actors.Tasks;

/// <summary>
/// Celery's <c>@app.task</c>: marks a public method, static or on a class with a public parameterless
/// constructor (a new instance per attempt), as a task that workers run by name.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class JobsTaskAttribute : Attribute
{
    public JobsTaskAttribute()
    {
    }

    public JobsTaskAttribute(string name)
    {
        Name = name;
    }

    /// <summary>The task's name; by default class and method in lower snake case (<c>tasks.add</c>).</summary>
    public string? Name { get; init; }

    /// <summary>Celery's <c>max_retries</c>; -1 retries without end.</summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>Seconds before a retry when neither the retry nor a backoff names a countdown.</summary>
    public double DefaultRetryDelay { get; init; } = 180;

    /// <summary>Exceptions (and their subclasses) that retry the task by themselves (Celery's <c>autoretry_for</c>).</summary>
    public Type[] AutoRetryFor { get; init; } = [];

    /// <summary>Exponential backoff factor in seconds for automatic retries; 0 uses <see cref="DefaultRetryDelay"/>.</summary>
    public double RetryBackoff { get; init; }

    /// <summary>The longest backoff, in seconds.</summary>
    public double RetryBackoffMax { get; init; } = 600;

    /// <summary>Full jitter: a backoff countdown is drawn uniformly from 0 to its value.</summary>
    public bool RetryJitter { get; init; } = true;

    /// <summary>The queue the task goes to when the caller names none.</summary>
    public string? Queue { get; init; }

    /// <summary>Seconds after which the body's token is cancelled; 0 = none.</summary>
    public double SoftTimeLimit { get; init; }

    /// <summary>Seconds after which the attempt fails with TimeLimitExceeded; 0 = none.</summary>
    public double TimeLimit { get; init; }

    /// <summary>
    /// Seconds a finished task's result is kept (Celery's <c>result_expires</c>, per task); 0 keeps it for ever; negative
    /// (the default) leaves it to <c>jobs.tasks.result-expires</c>. A call's <c>result_expires</c> wins.
    /// </summary>
    public double ResultExpires { get; init; } = -1;

    /// <summary>Celery's <c>ignore_result</c>: the task runs durably, and its state is removed as soon as it finished.</summary>
    public bool IgnoreResult { get; init; }

    /// <summary>At most this many attempts per worker: "10/s", "100/m", "1000/h"; "0" is none, as in Celery.</summary>
    public string? RateLimit { get; init; }
}
