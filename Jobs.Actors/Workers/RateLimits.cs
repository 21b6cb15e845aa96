using System.Globalization;

namespace Jobs.Actors.Workers;

/// <summary>
/// Per task type rate limits of one worker, as Celery applies them: starts are spaced evenly, one token at a time,
/// so no window of the rate's length ever holds more starts than the rate allows.
/// </summary>
public sealed class RateLimits
{
    private readonly Dictionary<string, DateTimeOffset> _nextStart = new();

    /// <summary>Zero when <paramref name="taskName"/> may start now (and the start is counted); else how long to wait.</summary>
    public TimeSpan TryTake(string taskName, RateLimit rate, DateTimeOffset now)
    {
        if (_nextStart.TryGetValue(taskName, out var next) && next > now)
            return next - now;
        _nextStart[taskName] = now + rate.Interval;
        return TimeSpan.Zero;
    }
}

/// <summary>
/// A rate limit checked once, wherever it comes from (a task's attribute, <c>control rate-limit</c>, the HTTP API, a
/// remote <see cref="SetRateLimit"/>): the worker only ever sees valid ones, so no rate can fail it later.
/// </summary>
/// <param name="Text">as given, for replies and logs.</param>
/// <param name="Interval">the time between two starts: "10/s" is 100 ms.</param>
public sealed record RateLimit(string Text, TimeSpan Interval)
{
    /// <summary>The slowest rate accepted; slower ones are surely a mistake, and overflow time arithmetic soon after.</summary>
    public static readonly TimeSpan LongestInterval = TimeSpan.FromDays(1);

    /// <summary>
    /// Celery's forms: "10/s", "100/m", "1000/h", or a bare number per second. A rate of zero ("0", "0/s") and "none"
    /// or "off" mean no limit, as in Celery: null, with no problem.
    /// </summary>
    public static bool TryParse(string? text, out RateLimit? limit, out string? problem)
    {
        limit = null;
        problem = null;
        var rate = text?.Trim() ?? "";
        if (rate is "none" or "off")
            return true;
        var slash = rate.IndexOf('/');
        var (countText, unitText) = slash < 0 ? (rate, "s") : (rate[..slash], rate[(slash + 1)..]);
        double? unit = unitText switch { "s" => 1.0, "m" => 60.0, "h" => 3600.0, _ => null };
        if (unit is null || !double.TryParse(countText, NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out var count)
            || !double.IsFinite(count))
        {
            problem = $"'{rate}' is not a rate limit; use 10/s, 100/m, 1000/h (or 0 for none)";
            return false;
        }
        if (count == 0)
            return true;
        var seconds = unit.Value / count;
        if (seconds > LongestInterval.TotalSeconds)
        {
            problem = $"'{rate}' is too slow a rate limit: one start every {seconds:0.###e0} s; the slowest accepted is one a day (0.0417/h), or 0 for none";
            return false;
        }
        limit = new RateLimit(slash < 0 ? rate + "/s" : rate, TimeSpan.FromSeconds(seconds));
        return true;
    }

    /// <exception cref="FormatException">Not a rate, or slower than one a day.</exception>
    public static RateLimit? Parse(string? text) =>
        TryParse(text, out var limit, out var problem) ? limit : throw new FormatException(problem);

    public override string ToString() => Text;
}
