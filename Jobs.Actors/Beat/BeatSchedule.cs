using System.Collections.Concurrent;
using System.Globalization;
using Cronos;

namespace Jobs.Actors.Beat;

/// <summary>
/// When an entry's ticks fall, as instants. Cron expressions are read in the entry's time zone by Cronos, which
/// handles daylight saving time: a time that does not exist (the spring-forward hour) runs at the moment the clocks
/// jump, and a time that exists twice (the fall-back hour) runs once, at its first occurrence, unless the expression
/// repeats within the hour (<c>*/15 * * * *</c> runs on through both). Intervals count from the entry's anchor (when
/// it was defined). Pure: every function takes the instants it works from, so a virtual clock tests it.
/// </summary>
public static class BeatSchedule
{
    private static readonly ConcurrentDictionary<string, CronExpression> Parsed = new(StringComparer.Ordinal);

    public static CronExpression ParseCron(string cron) =>
        Parsed.TryGetValue(cron, out var parsed)
            ? parsed
            : Parsed.GetOrAdd(cron, c => CronExpression.Parse(c, c.Split(' ').Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard));

    public static TimeZoneInfo Zone(EntryDefinition entry) => TimeZoneInfo.FindSystemTimeZoneById(entry.TimeZone);

    /// <summary>The first tick strictly after <paramref name="after"/>, or null when there is none (a clocked entry that passed).</summary>
    public static DateTimeOffset? NextAfter(EntryDefinition entry, DateTimeOffset anchor, DateTimeOffset after)
    {
        if (entry.Cron is { } cron)
            return ParseCron(cron).GetNextOccurrence(after, Zone(entry))?.ToUniversalTime();
        if (entry.Interval is { } seconds)
        {
            var step = Step(seconds);
            var k = after < anchor ? 1 : (after - anchor).Ticks / step + 1;
            return anchor.AddTicks(Math.Max(1, k) * step).ToUniversalTime();
        }
        return entry.Clocked is { } at && at > after ? at.ToUniversalTime() : null;
    }

    /// <summary>The last tick at or before <paramref name="upTo"/> and strictly after <paramref name="after"/>, or null.</summary>
    public static DateTimeOffset? LatestBetween(EntryDefinition entry, DateTimeOffset anchor, DateTimeOffset after, DateTimeOffset upTo)
    {
        if (upTo <= after)
            return null;
        DateTimeOffset? latest;
        if (entry.Cron is { } cron)
            latest = ParseCron(cron).GetPreviousOccurrence(upTo, Zone(entry), inclusive: true)?.ToUniversalTime();
        else if (entry.Interval is { } seconds)
        {
            var step = Step(seconds);
            var k = upTo < anchor ? 0 : (upTo - anchor).Ticks / step;
            latest = k >= 1 ? anchor.AddTicks(k * step).ToUniversalTime() : null;
        }
        else
            latest = entry.Clocked is { } at && at <= upTo ? at.ToUniversalTime() : null;
        return latest is { } l && l > after ? l : null;
    }

    /// <summary>How many ticks fall in (<paramref name="after"/>, <paramref name="upTo"/>], counted up to <paramref name="cap"/>.</summary>
    public static long CountBetween(EntryDefinition entry, DateTimeOffset anchor, DateTimeOffset after, DateTimeOffset upTo, long cap = 10_000_000)
    {
        if (upTo <= after)
            return 0;
        if (entry.Interval is { } seconds)
        {
            var step = Step(seconds);
            long Index(DateTimeOffset t) => t < anchor ? 0 : (t - anchor).Ticks / step;
            return Math.Min(cap, Index(upTo) - Index(after));
        }
        if (entry.Cron is { } cron)
        {
            long count = 0;
            foreach (var _ in ParseCron(cron).GetOccurrences(after, upTo, Zone(entry), fromInclusive: false, toInclusive: true))
            {
                if (++count >= cap)
                    break;
            }
            return count;
        }
        return entry.Clocked is { } at && at > after && at <= upTo ? 1 : 0;
    }

    /// <summary>The next <paramref name="count"/> ticks after <paramref name="after"/>.</summary>
    public static IReadOnlyList<DateTimeOffset> Upcoming(EntryDefinition entry, DateTimeOffset anchor, DateTimeOffset after, int count)
    {
        var ticks = new List<DateTimeOffset>(count);
        var from = after;
        while (ticks.Count < count && NextAfter(entry, anchor, from) is { } next)
        {
            ticks.Add(next);
            from = next;
        }
        return ticks;
    }

    /// <summary>
    /// How late a tick may still run under catch-up <c>once</c> or <c>all</c>: the entry's window, or by default one
    /// period (until the following tick), so a missed tick runs once and never piles up behind the next one.
    /// </summary>
    public static bool WithinWindow(EntryDefinition entry, DateTimeOffset anchor, DateTimeOffset tick, DateTimeOffset now)
    {
        if (entry.CatchUpWindow is { } window)
            return now - tick <= TimeSpan.FromSeconds(window);
        return NextAfter(entry, anchor, tick) is not { } following || following > now;
    }

    /// <summary>The first tick at or after <paramref name="from"/> and strictly after <paramref name="after"/>.</summary>
    public static DateTimeOffset? FirstFrom(EntryDefinition entry, DateTimeOffset anchor, DateTimeOffset after, DateTimeOffset from) =>
        NextAfter(entry, anchor, from.AddTicks(-1) > after ? from.AddTicks(-1) : after);

    /// <summary>An interval's anchor: the moment of definition rounded up to a whole second, so tick ids stay readable.</summary>
    public static DateTimeOffset Anchor(DateTimeOffset definedAt)
    {
        var rest = definedAt.UtcTicks % TimeSpan.TicksPerSecond;
        return (rest == 0 ? definedAt : definedAt.AddTicks(TimeSpan.TicksPerSecond - rest)).ToUniversalTime();
    }

    private static long Step(double seconds) => Math.Max(1, (long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    /// <summary>The schedule in words, for people: "every 30 seconds", "at 03:00 every day (Europe/Berlin)".</summary>
    public static string Describe(EntryDefinition entry)
    {
        if (entry.Interval is { } seconds)
            return "every " + Seconds(seconds);
        if (entry.Clocked is { } at)
            return "once at " + at.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);
        return CronWords.Describe(entry.Cron!) + (entry.TimeZone == "UTC" ? " (UTC)" : $" ({entry.TimeZone})");
    }

    private static string Seconds(double seconds)
    {
        static string Unit(double n, string unit) => n == 1 ? unit : $"{n.ToString(CultureInfo.InvariantCulture)} {unit}s";
        if (seconds >= 86400 && seconds % 86400 == 0) return Unit(seconds / 86400, "day");
        if (seconds >= 3600 && seconds % 3600 == 0) return Unit(seconds / 3600, "hour");
        if (seconds >= 60 && seconds % 60 == 0) return Unit(seconds / 60, "minute");
        return Unit(seconds, "second");
    }
}

/// <summary>Cron expressions in English words, for the common shapes; anything else is described field by field.</summary>
internal static class CronWords
{
    private static readonly string[] DayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    private static readonly string[] Months = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Describe(string cron)
    {
        var fields = cron.Split(' ');
        var (second, rest) = fields.Length == 6 ? (fields[0], fields[1..]) : ("0", fields);
        var (minute, hour, dom, month, dow) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
        var time = Time(second, minute, hour);
        var days = Days(dom, month, dow);
        if (days.Length == 0)
            return IsNumber(minute) && IsNumber(hour) ? $"{time} every day" : time;
        return $"{time} {days}";
    }

    private static string Time(string second, string minute, string hour)
    {
        if (IsNumber(second) && IsNumber(minute) && IsNumber(hour))
            return $"at {int.Parse(hour):00}:{int.Parse(minute):00}" + (second == "0" ? "" : $":{int.Parse(second):00}");
        var parts = new List<string>();
        if (second == "*")
            return "every second" + (minute == "*" ? "" : $", minute {minute}") + (hour == "*" ? "" : $", hour {hour}");
        if (Step(second) is { } s) parts.Add($"every {s} seconds");
        else if (second != "0") parts.Add($"at second {second}");
        if (minute == "*" && parts.Count == 0) parts.Add("every minute");
        else if (minute == "*") parts.Add("of every minute");
        else if (Step(minute) is { } m) parts.Add($"every {m} minutes");
        else parts.Add(IsNumber(minute) ? $"at minute {minute}" : $"at minutes {minute}");
        if (hour == "*") { if (minute != "*" && Step(minute) is null) parts.Add("of every hour"); }
        else if (Step(hour) is { } h) parts.Add($"of every {h} hours");
        else parts.Add($"past hour {hour}");
        return string.Join(" ", parts);
    }

    private static string Days(string dom, string month, string dow)
    {
        var parts = new List<string>();
        if (dow != "*" && dow != "?")
            parts.Add("on " + DaysOfWeek(dow));
        if (dom != "*" && dom != "?")
            parts.Add(dom == "L" ? "on the last day of the month" : $"on day {dom} of the month");
        if (month != "*")
            parts.Add("in " + string.Join(", ", month.Split(',').Select(m => int.TryParse(m, out var n) && n is >= 1 and <= 12 ? Months[n] : m)));
        return string.Join(" ", parts);
    }

    private static string DaysOfWeek(string dow) => string.Join(", ", dow.Split(',').Select(part =>
    {
        var range = part.Split('-');
        string Day(string d) => int.TryParse(d, out var n) && n is >= 0 and <= 7 ? DayNames[n] : d;
        return range.Length == 2 ? $"{Day(range[0])} to {Day(range[1])}" : Day(part);
    }));

    private static bool IsNumber(string field) => int.TryParse(field, out _);

    private static string? Step(string field) => field.StartsWith("*/", StringComparison.Ordinal) ? field[2..] : null;
}
