namespace Jobs.Actors.Beat;

/// <summary>
/// A schedule entry on a task method (beside its <see cref="Tasks.JobsTaskAttribute"/>): <c>[Periodic("*/5 * * * *")]</c>
/// sends the task on that cron schedule, <c>[Periodic(Interval = 30)]</c> every 30 seconds, <c>[Periodic(Clocked =
/// "2026-12-24T18:00:00+01:00")]</c> once. The entry's name is the task's unless <see cref="Name"/> says otherwise (a
/// method with several entries names each). Validated when the node starts: a bad one stops it, naming the entry.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class PeriodicAttribute : Attribute
{
    public PeriodicAttribute()
    {
    }

    public PeriodicAttribute(string cron)
    {
        Cron = cron;
    }

    public string? Cron { get; }

    public string? Name { get; init; }

    /// <summary>Seconds between ticks; 0 means not an interval entry.</summary>
    public double Interval { get; init; }

    /// <summary>An ISO-8601 instant with its offset, for a one-off entry.</summary>
    public string? Clocked { get; init; }

    public string? TimeZone { get; init; }

    /// <summary>The positional arguments as a JSON array, e.g. <c>"[2, 2]"</c>.</summary>
    public string? Args { get; init; }

    /// <summary>The keyword arguments as a JSON object, e.g. <c>"{\"key\": \"nightly\"}"</c>.</summary>
    public string? Kwargs { get; init; }

    public string? Queue { get; init; }

    /// <summary>Seconds after its tick by which the task must have started, or it is revoked (0: never expires).</summary>
    public double Expires { get; init; }

    public CatchUpPolicy CatchUp { get; init; } = CatchUpPolicy.Once;

    /// <summary>Seconds; 0 means one period.</summary>
    public double CatchUpWindow { get; init; }

    public OverlapPolicy Overlap { get; init; } = OverlapPolicy.Allow;

    public bool Paused { get; init; }
}
