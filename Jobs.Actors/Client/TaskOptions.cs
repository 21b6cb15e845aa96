namespace Jobs.Actors.Client;

/// <summary>Celery's <c>apply_async</c> options. Relative times are made absolute when the task is sent.</summary>
public sealed record TaskOptions
{
    /// <summary>Run no earlier than this long after sending (Celery's <c>countdown</c>).</summary>
    public TimeSpan? Countdown { get; init; }

    /// <summary>Run no earlier than this time (Celery's <c>eta</c>); wins over <see cref="Countdown"/>.</summary>
    public DateTimeOffset? Eta { get; init; }

    /// <summary>A task not started by then is REVOKED without running.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>Like <see cref="Expires"/>, relative to sending.</summary>
    public TimeSpan? ExpiresIn { get; init; }

    /// <summary>The queue; without it the task routes decide.</summary>
    public string? Queue { get; init; }

    /// <summary>
    /// How long the result is kept once the task finished (Celery's <c>result_expires</c>); zero keeps it for ever.
    /// Without it the task's own setting, then <c>jobs.tasks.result-expires</c>, decide.
    /// </summary>
    public TimeSpan? ResultExpires { get; init; }

    /// <summary>Celery's <c>ignore_result</c>: the task runs durably, and its state is removed as soon as it finished.</summary>
    public bool? IgnoreResult { get; init; }

    /// <summary>The id to use; a new GUID when absent. Sending an existing id again changes nothing.</summary>
    public string? TaskId { get; init; }
}
