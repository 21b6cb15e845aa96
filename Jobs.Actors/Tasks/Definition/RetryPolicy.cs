namespace Jobs.Actors.Tasks;

/// <summary>A task's retry options and the pure rule that turns a failed attempt into a retry or a failure.</summary>
public sealed record RetryPolicy(
    int MaxRetries,
    TimeSpan DefaultRetryDelay,
    IReadOnlyList<Type> AutoRetryFor,
    double BackoffFactor,
    TimeSpan BackoffMax,
    bool Jitter)
{
    /// <summary>
    /// <paramref name="retries"/> is the number of retries already done. An explicit retry waits its own countdown
    /// or the default delay; an automatic one backs off exponentially when a backoff factor is set (Celery's
    /// <c>get_exponential_backoff_interval</c>); anything else fails. Past the maximum the task fails with the cause.
    /// </summary>
    public RetryDecision Decide(string taskName, Exception error, int retries, Random random)
    {
        if (error is TaskRetryException retry)
        {
            var max = retry.MaxRetries ?? MaxRetries;
            if (max >= 0 && retries >= max)
                return new RetryDecision.Fail(retry.InnerException ?? new MaxRetriesExceededException(taskName, max));
            return new RetryDecision.Retry(retry.Countdown ?? DefaultRetryDelay, retry.InnerException ?? retry);
        }
        if (!AutoRetryFor.Any(type => type.IsInstanceOfType(error)))
            return new RetryDecision.Fail(error);
        if (MaxRetries >= 0 && retries >= MaxRetries)
            return new RetryDecision.Fail(error);
        return new RetryDecision.Retry(Backoff(retries, random), error);
    }

    private TimeSpan Backoff(int retries, Random random)
    {
        if (BackoffFactor <= 0)
            return DefaultRetryDelay;
        var countdown = Math.Min(BackoffMax.TotalSeconds, BackoffFactor * Math.Pow(2, Math.Min(retries, 62)));
        if (Jitter)
            countdown = random.Next((int)Math.Min(int.MaxValue - 1, countdown) + 1);
        return TimeSpan.FromSeconds(Math.Max(0, countdown));
    }
}

public abstract record RetryDecision
{
    public sealed record Retry(TimeSpan Countdown, Exception Cause) : RetryDecision;

    public sealed record Fail(Exception Cause) : RetryDecision;
}
