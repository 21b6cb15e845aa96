namespace Jobs.Api;

/// <summary>
/// Counts what a request may hold for a long time — a wait for a result, a live event stream — so that many idle
/// connections cannot pin entities and subscribers without bound: one over the limit is answered 429 at once.
/// </summary>
public sealed class RequestLimits(JobsHttpSettings settings)
{
    private readonly Counter _waits = new(settings.MaxConcurrentWaits,
        "requests waiting for a result (jobs.http.max-concurrent-waits); ask again later, or without ?timeout=");
    private readonly Counter _streams = new(settings.MaxEventStreams, "live event streams (jobs.http.max-event-streams)");

    public JobsHttpSettings Settings { get; } = settings;

    /// <summary>Requests waiting for a result now (a gauge in /metrics).</summary>
    public int Waiting => _waits.Count;

    /// <summary>Holds one of <c>jobs.http.max-concurrent-waits</c> until disposed.</summary>
    public IDisposable Wait() => _waits.Take();

    /// <summary>Holds one of <c>jobs.http.max-event-streams</c> until disposed.</summary>
    public IDisposable Stream() => _streams.Take();

    /// <summary>A <c>?timeout=</c> in seconds checked against <c>jobs.http.max-wait</c>; null when there is none to wait.</summary>
    public TimeSpan? Timeout(double? seconds)
    {
        var max = Settings.MaxWait.TotalSeconds;
        if (seconds is null)
            return null;
        if (double.IsNaN(seconds.Value) || seconds < 0 || seconds > max)
            throw new BadRequestException($"'timeout' must be between 0 and {max:0.###} seconds (jobs.http.max-wait)", "timeout");
        return seconds > 0 ? TimeSpan.FromSeconds(seconds.Value) : null;
    }

    private sealed class Counter(int limit, string what)
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public IDisposable Take()
        {
            if (Interlocked.Increment(ref _count) > limit)
            {
                Interlocked.Decrement(ref _count);
                throw new TooManyRequestsException($"this node already serves {limit} {what}");
            }
            return new Release(this);
        }

        private sealed class Release(Counter counter) : IDisposable
        {
            private int _released;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _released, 1) == 0)
                    Interlocked.Decrement(ref counter._count);
            }
        }
    }
}

/// <summary>A limit of <see cref="RequestLimits"/> is reached: 429, naming the setting.</summary>
public sealed class TooManyRequestsException(string message) : Exception(message);
