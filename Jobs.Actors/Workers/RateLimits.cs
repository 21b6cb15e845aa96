using System.Globalization;

namespace Jobs.Actors.Workers;

/// <summary>
/// Per task type rate limits of one worker ("10/s", "100/m", "1000/h"), as Celery applies them: starts are spaced
/// evenly, one token at a time, so no window of the rate's length ever holds more starts than the rate allows.
/// </summary>
public sealed class RateLimits
{
    private readonly Dictionary<string, DateTimeOffset> _nextStart = new();

    /// <summary>Zero when <paramref name="taskName"/> may start now (and the start is counted); else how long to wait.</summary>
    public TimeSpan TryTake(string taskName, string rate, DateTimeOffset now)
    {
        var interval = Interval(rate);
        if (_nextStart.TryGetValue(taskName, out var next) && next > now)
            return next - now;
        _nextStart[taskName] = now + interval;
        return TimeSpan.Zero;
    }

    /// <summary>The time between two starts: "10/s" is 100 ms.</summary>
    public static TimeSpan Interval(string rate)
    {
        var slash = rate.IndexOf('/');
        var count = double.Parse(rate[..slash], CultureInfo.InvariantCulture);
        var unit = rate[(slash + 1)..] switch
        {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            var other => throw new FormatException($"rate limit unit '{other}' is not s, m or h"),
        };
        return TimeSpan.FromSeconds(unit / count);
    }
}
