using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Jobs.Actors.Beat;

/// <summary>What a tick does when it comes due late (Quartz's misfire instructions, by another name).</summary>
public enum CatchUpPolicy
{
    /// <summary>A tick later than <c>jobs.beat.misfire-threshold</c> is recorded as missed, never run.</summary>
    None,

    /// <summary>Of the ticks missed, only the latest runs (if within the window); the others are recorded as missed.</summary>
    Once,

    /// <summary>Every missed tick within the window runs, one after another.</summary>
    All,
}

/// <summary>What a tick does while the entry's previous run is unfinished.</summary>
public enum OverlapPolicy
{
    /// <summary>Runs anyway.</summary>
    Allow,

    /// <summary>Is skipped, and the skip recorded.</summary>
    Skip,

    /// <summary>Waits for the previous run to finish, then runs; at most one tick waits, later ones are skipped.</summary>
    Queue,
}

/// <summary>Where an entry was defined; HOCON and attribute entries are owned by their source.</summary>
public static class EntrySources
{
    public const string Hocon = "hocon";
    public const string Attribute = "attribute";
    public const string Api = "api";

    public static bool IsStatic(string source) => source is Hocon or Attribute;
}

/// <summary>
/// One periodic entry (Celery's <c>beat_schedule</c> item): a task sent with its arguments and options on a schedule,
/// which is exactly one of <see cref="Cron"/> (5 fields, or 6 with seconds first, read in <see cref="TimeZone"/>),
/// <see cref="Interval"/> (seconds) and <see cref="Clocked"/> (one instant). Built only through <see cref="EntryParser"/>,
/// so every instance is valid.
/// </summary>
public sealed record EntryDefinition(
    string Name,
    string Task,
    JsonElement Args,
    JsonElement Kwargs,
    string? Queue,
    double? Expires,
    string? Cron,
    double? Interval,
    DateTimeOffset? Clocked,
    string TimeZone,
    CatchUpPolicy CatchUp,
    double? CatchUpWindow,
    OverlapPolicy Overlap,
    bool Paused) : IJobsMessage
{
    /// <summary>The entry as JSON, in the shape <c>POST /api/schedules</c> takes.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["name"] = Name,
            ["task"] = Task,
            ["args"] = JsonNode.Parse(Args.GetRawText()),
            ["kwargs"] = JsonNode.Parse(Kwargs.GetRawText()),
            ["options"] = Options(),
        };
        if (Cron is not null) json["cron"] = Cron;
        if (Interval is { } interval) json["interval"] = interval;
        if (Clocked is { } clocked) json["clocked"] = clocked.ToString("O", CultureInfo.InvariantCulture);
        json["time_zone"] = TimeZone;
        json["catch_up"] = EntryParser.Name(CatchUp);
        json["catch_up_window"] = CatchUpWindow;
        json["overlap"] = EntryParser.Name(Overlap);
        json["paused"] = Paused;
        return json;
    }

    private JsonObject Options()
    {
        var options = new JsonObject();
        if (Queue is not null) options["queue"] = Queue;
        if (Expires is { } expires) options["expires"] = expires;
        return options;
    }

    /// <summary>
    /// A digest of the definition as its source gave it: a deploy whose HOCON or attribute entry has the same
    /// fingerprint as the stored one changes nothing (a pause set at run time stays); a different one replaces it.
    /// </summary>
    public string Fingerprint() =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ToJson().ToJsonString()))).ToLowerInvariant()[..16];
}

/// <summary>A field of an entry that cannot be used; <see cref="Field"/> names it as the HTTP API spells it.</summary>
public sealed class InvalidEntryException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>Reads and checks an entry from its JSON shape (the HTTP API's; HOCON entries are turned into it first).</summary>
public static partial class EntryParser
{
    public static readonly IReadOnlyList<string> Fields =
        ["name", "task", "args", "kwargs", "options", "cron", "interval", "clocked", "time_zone", "catch_up", "catch_up_window", "overlap", "paused"];

    public static readonly IReadOnlyList<string> OptionFields = ["queue", "expires"];

    private static readonly JsonElement EmptyArgs = JsonDocument.Parse("[]").RootElement.Clone();
    private static readonly JsonElement EmptyKwargs = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>Entry names go into persistence ids, task ids and URLs: letters, digits, '.', '_' and '-'.</summary>
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,200}$")]
    private static partial Regex NamePattern();

    public static void CheckName(string name)
    {
        if (!NamePattern().IsMatch(name))
            throw new InvalidEntryException("name", $"'{name}' is not an entry name: 1 to 200 letters, digits, '.', '_' or '-'");
    }

    /// <summary>
    /// The entry in <paramref name="json"/>; <paramref name="name"/>, when given, is the name from the URL or the HOCON
    /// key, and a <c>"name"</c> in the body must agree with it. <paramref name="defaultTimeZone"/> applies when none is given.
    /// </summary>
    public static EntryDefinition Parse(JsonElement json, string? name = null, string defaultTimeZone = "UTC")
    {
        if (json.ValueKind != JsonValueKind.Object)
            throw new InvalidEntryException("", "an entry must be a JSON object");
        foreach (var property in json.EnumerateObject())
        {
            if (!Fields.Contains(property.Name))
                throw new InvalidEntryException(property.Name, $"unknown field '{property.Name}'; the fields are {string.Join(", ", Fields)}");
        }
        var bodyName = OptionalString(json, "name");
        if (name is not null && bodyName is not null && bodyName != name)
            throw new InvalidEntryException("name", $"the body names the entry '{bodyName}' but it is addressed as '{name}'");
        name ??= bodyName ?? throw new InvalidEntryException("name", "an entry needs a name");
        CheckName(name);

        var task = OptionalString(json, "task");
        if (string.IsNullOrWhiteSpace(task))
            throw new InvalidEntryException("task", "an entry needs the name of the task it sends");

        var args = Get(json, "args") is { } a ? a : EmptyArgs;
        if (args.ValueKind != JsonValueKind.Array)
            throw new InvalidEntryException("args", "'args' must be a JSON array");
        var kwargs = Get(json, "kwargs") is { } k ? k : EmptyKwargs;
        if (kwargs.ValueKind != JsonValueKind.Object)
            throw new InvalidEntryException("kwargs", "'kwargs' must be a JSON object");
        var (queue, expires) = ReadOptions(Get(json, "options"));

        var cron = OptionalString(json, "cron");
        var interval = OptionalNumber(json, "interval");
        var clockedText = OptionalString(json, "clocked");
        var kinds = (cron is null ? 0 : 1) + (interval is null ? 0 : 1) + (clockedText is null ? 0 : 1);
        if (kinds != 1)
            throw new InvalidEntryException(kinds == 0 ? "cron" : clockedText is not null ? "clocked" : "interval",
                kinds == 0 ? "an entry needs a schedule: one of 'cron', 'interval' (seconds) or 'clocked' (an ISO-8601 instant)"
                           : "give only one of 'cron', 'interval' and 'clocked'");
        var zone = OptionalString(json, "time_zone") ?? defaultTimeZone;
        CheckTimeZone(zone);
        if (cron is not null)
            cron = CheckCron(cron);
        if (interval is <= 0 or double.NaN or double.PositiveInfinity)
            throw new InvalidEntryException("interval", $"'interval' must be a number of seconds above 0, not {interval}");
        DateTimeOffset? clocked = null;
        if (clockedText is not null)
            clocked = ParseInstant(clockedText);

        var catchUp = Enum(OptionalString(json, "catch_up"), "catch_up", CatchUpPolicy.Once);
        var window = OptionalNumber(json, "catch_up_window");
        if (window is <= 0 or double.NaN)
            throw new InvalidEntryException("catch_up_window", $"'catch_up_window' must be a number of seconds above 0, not {window}");
        var overlap = Enum(OptionalString(json, "overlap"), "overlap", OverlapPolicy.Allow);
        var paused = Get(json, "paused") switch
        {
            null => false,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw new InvalidEntryException("paused", "'paused' must be true or false"),
        };
        return new EntryDefinition(name, task, args.Clone(), kwargs.Clone(), queue, expires, cron, interval, clocked, zone,
            catchUp, window, overlap, paused);
    }

    /// <summary>5 fields as Celery's crontab (minute hour day-of-month month day-of-week), or 6 with seconds first.</summary>
    public static string CheckCron(string cron)
    {
        var normalized = string.Join(' ', cron.Split(' ', '\t').Where(p => p.Length > 0));
        var fields = normalized.Split(' ').Length;
        if (fields is not (5 or 6))
            throw new InvalidEntryException("cron", $"'{cron}' has {fields} fields; a cron expression has 5 (minute hour day month weekday) or 6 (seconds first)");
        try
        {
            BeatSchedule.ParseCron(normalized);
        }
        catch (Cronos.CronFormatException e)
        {
            throw new InvalidEntryException("cron", $"'{cron}' is not a cron expression: {e.Message}");
        }
        return normalized;
    }

    public static void CheckTimeZone(string zone)
    {
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(zone);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new InvalidEntryException("time_zone", $"unknown time zone '{zone}'; use an IANA name such as Europe/Berlin or UTC");
        }
    }

    /// <summary>An instant needs its offset (or Z): a bare local time would mean different instants on different nodes.</summary>
    private static DateTimeOffset ParseInstant(string text)
    {
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant) ||
            !OffsetPattern().IsMatch(text.Trim()))
            throw new InvalidEntryException("clocked", $"'{text}' is not an ISO-8601 instant with an offset, e.g. 2026-12-24T18:00:00+01:00 or …Z");
        return instant;
    }

    [GeneratedRegex(@"(Z|[+-]\d{2}:?\d{2})$", RegexOptions.IgnoreCase)]
    private static partial Regex OffsetPattern();

    private static (string? Queue, double? Expires) ReadOptions(JsonElement? options)
    {
        if (options is null)
            return (null, null);
        if (options.Value.ValueKind != JsonValueKind.Object)
            throw new InvalidEntryException("options", "'options' must be a JSON object");
        string? queue = null;
        double? expires = null;
        foreach (var option in options.Value.EnumerateObject())
        {
            switch (option.Name)
            {
                case "queue":
                    queue = option.Value.ValueKind == JsonValueKind.String && option.Value.GetString() is { Length: > 0 } q
                        ? q : throw new InvalidEntryException("options.queue", "'options.queue' must be a queue name");
                    break;
                case "expires":
                    expires = option.Value.ValueKind == JsonValueKind.Number && option.Value.GetDouble() > 0
                        ? option.Value.GetDouble()
                        : throw new InvalidEntryException("options.expires", "'options.expires' must be a number of seconds above 0 (after the tick)");
                    break;
                default:
                    throw new InvalidEntryException("options." + option.Name,
                        $"unknown option '{option.Name}'; the options are {string.Join(", ", OptionFields)}");
            }
        }
        return (queue, expires);
    }

    private static JsonElement? Get(JsonElement json, string field) =>
        json.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string? OptionalString(JsonElement json, string field) => Get(json, field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        _ => throw new InvalidEntryException(field, $"'{field}' must be a string"),
    };

    private static double? OptionalNumber(JsonElement json, string field) => Get(json, field) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } n => n.GetDouble(),
        _ => throw new InvalidEntryException(field, $"'{field}' must be a number of seconds"),
    };

    private static T Enum<T>(string? text, string field, T fallback) where T : struct, System.Enum
    {
        if (text is null)
            return fallback;
        return System.Enum.GetValues<T>().FirstOrDefault(v => Name(v) == text) is var value && Name(value) == text
            ? value
            : throw new InvalidEntryException(field, $"'{field}' must be one of {string.Join(", ", System.Enum.GetValues<T>().Select(v => Name(v)))}, not '{text}'");
    }

    public static string Name<T>(T value) where T : struct, System.Enum => value.ToString().ToLowerInvariant();
}
