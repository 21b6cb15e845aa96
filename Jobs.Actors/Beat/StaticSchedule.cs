using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Configuration;
using Akka.Configuration.Hocon;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Beat;

/// <summary>An entry from HOCON or an attribute that cannot be used: the node stops at start, naming it.</summary>
public sealed class BeatScheduleException(string message) : Exception(message);

/// <summary>An entry a node defines from its own sources (HOCON <c>jobs.beat.schedule</c> and <see cref="PeriodicAttribute"/>).</summary>
public sealed record StaticEntry(EntryDefinition Definition, string Source);

/// <summary>Reads and checks a node's HOCON and attribute entries, merged by name; any fault is a <see cref="BeatScheduleException"/>.</summary>
public static class StaticSchedule
{
    private static readonly Dictionary<string, string> HoconKeys = new()
    {
        ["task"] = "task", ["args"] = "args", ["kwargs"] = "kwargs", ["options"] = "options", ["cron"] = "cron",
        ["interval"] = "interval", ["clocked"] = "clocked", ["time-zone"] = "time_zone", ["catch-up"] = "catch_up",
        ["catch-up-window"] = "catch_up_window", ["overlap"] = "overlap", ["paused"] = "paused",
    };

    /// <summary>
    /// Every entry of <paramref name="config"/> and of the attributes on <paramref name="registry"/>'s tasks. With a
    /// registry, each entry's task must be one of its tasks (a node defines only entries it can run).
    /// </summary>
    public static IReadOnlyList<StaticEntry> Load(Config config, TaskRegistry? registry)
    {
        var defaultZone = config.GetString("jobs.beat.default-time-zone", "UTC");
        var entries = new Dictionary<string, StaticEntry>(StringComparer.Ordinal);
        foreach (var entry in FromHocon(config, defaultZone))
            entries[entry.Definition.Name] = entry;
        foreach (var entry in FromAttributes(registry, defaultZone))
        {
            if (entries.TryGetValue(entry.Definition.Name, out var other))
                throw new BeatScheduleException(
                    $"schedule entry '{entry.Definition.Name}' is defined twice: {Where(other)} and {Where(entry)}; give one of them another name");
            entries[entry.Definition.Name] = entry;
        }
        if (registry is not null)
        {
            foreach (var entry in entries.Values.Where(e => !registry.TryGet(e.Definition.Task, out _)))
                throw new BeatScheduleException(
                    $"schedule entry '{entry.Definition.Name}' ({Where(entry)}): task: '{entry.Definition.Task}' is not a task of this node; its tasks are {string.Join(", ", registry.Names)}");
        }
        return entries.Values.OrderBy(e => e.Definition.Name, StringComparer.Ordinal).ToArray();
    }

    private static string Where(StaticEntry entry) => entry.Source == EntrySources.Hocon
        ? $"jobs.beat.schedule.{entry.Definition.Name}"
        : $"a [Periodic] attribute on task {entry.Definition.Task}";

    private static IEnumerable<StaticEntry> FromHocon(Config config, string defaultZone)
    {
        var schedule = config.GetConfig("jobs.beat.schedule");
        if (schedule is null || schedule.IsEmpty)
            yield break;
        foreach (var (key, value) in schedule.Root.GetObject().Items)
        {
            var name = key.Trim('"');
            var path = "jobs.beat.schedule." + name;
            EntryDefinition definition;
            try
            {
                if (!value.IsObject())
                    throw new InvalidEntryException("", "an entry must be an object, e.g. { task = \"tasks.cleanup\", cron = \"0 3 * * *\" }");
                definition = EntryParser.Parse(JsonSerializer.SerializeToElement(ToEntryJson(value.GetObject())), name, defaultZone);
            }
            catch (InvalidEntryException e)
            {
                throw new BeatScheduleException($"{path}{(e.Field.Length > 0 ? "." + e.Field.Replace('_', '-') : "")}: {e.Message}");
            }
            yield return new StaticEntry(definition, EntrySources.Hocon);
        }
    }

    /// <summary>An entry's HOCON in the HTTP API's JSON shape: keys spelled with '_', durations in seconds.</summary>
    private static JsonObject ToEntryJson(HoconObject entry)
    {
        var json = new JsonObject();
        foreach (var (key, value) in entry.Items)
        {
            if (!HoconKeys.TryGetValue(key, out var field))
                throw new InvalidEntryException(key, $"unknown key '{key}'; the keys are {string.Join(", ", HoconKeys.Keys)}");
            json[field] = field switch
            {
                "interval" or "catch_up_window" => Seconds(value, key),
                "options" when value.IsObject() => Options(value.GetObject()),
                _ => ToJson(value),
            };
        }
        return json;
    }

    private static JsonObject Options(HoconObject options)
    {
        var json = new JsonObject();
        foreach (var (key, value) in options.Items)
            json[key] = key == "expires" ? Seconds(value, "options.expires") : ToJson(value);
        return json;
    }

    /// <summary>A number of seconds, or a HOCON duration such as <c>30s</c> or <c>5m</c>.</summary>
    private static JsonNode Seconds(HoconValue value, string key)
    {
        var text = value.GetString();
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            return JsonValue.Create(seconds);
        try
        {
            return JsonValue.Create(value.GetTimeSpan().TotalSeconds);
        }
        catch (Exception)
        {
            throw new InvalidEntryException(key.Replace('-', '_'), $"'{key}' must be seconds or a duration such as 30s or 5m, not '{text}'");
        }
    }

    /// <summary>HOCON values as JSON: objects, lists, and scalars as numbers, booleans, null or strings.</summary>
    private static JsonNode? ToJson(HoconValue value)
    {
        if (value.IsObject())
        {
            var json = new JsonObject();
            foreach (var (key, item) in value.GetObject().Items)
                json[key] = ToJson(item);
            return json;
        }
        if (value.IsArray())
            return new JsonArray(value.GetArray().Select(ToJson).ToArray());
        var text = value.GetString();
        if (text is null || text == "null")
            return null;
        if (text is "true" or "false")
            return JsonValue.Create(text == "true");
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var whole))
            return JsonValue.Create(whole);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            return JsonValue.Create(number);
        return JsonValue.Create(text);
    }

    private static IEnumerable<StaticEntry> FromAttributes(TaskRegistry? registry, string defaultZone)
    {
        if (registry is null)
            yield break;
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var task in registry.Tasks)
        {
            foreach (var periodic in task.Method.GetCustomAttributes<PeriodicAttribute>())
            {
                var name = periodic.Name ?? task.Name;
                var where = $"the [Periodic] attribute named '{name}' on {task.Method.DeclaringType?.FullName}.{task.Method.Name}";
                if (seen.TryGetValue(name, out var other))
                    throw new BeatScheduleException($"schedule entry '{name}' is defined twice: by {other} and by {where}; give each a Name");
                seen[name] = where;
                EntryDefinition definition;
                try
                {
                    definition = EntryParser.Parse(JsonSerializer.SerializeToElement(ToEntryJson(periodic, task.Name)), name, defaultZone);
                }
                catch (InvalidEntryException e)
                {
                    throw new BeatScheduleException($"schedule entry '{name}' ({where}): {e.Field}: {e.Message}");
                }
                catch (JsonException e)
                {
                    throw new BeatScheduleException($"schedule entry '{name}' ({where}): Args/Kwargs must be JSON: {e.Message}");
                }
                yield return new StaticEntry(definition, EntrySources.Attribute);
            }
        }
    }

    private static JsonObject ToEntryJson(PeriodicAttribute periodic, string task)
    {
        var json = new JsonObject { ["task"] = task, ["catch_up"] = EntryParser.Name(periodic.CatchUp), ["overlap"] = EntryParser.Name(periodic.Overlap) };
        if (periodic.Cron is not null) json["cron"] = periodic.Cron;
        if (periodic.Interval != 0) json["interval"] = periodic.Interval;
        if (periodic.Clocked is not null) json["clocked"] = periodic.Clocked;
        if (periodic.TimeZone is not null) json["time_zone"] = periodic.TimeZone;
        if (periodic.Args is not null) json["args"] = JsonNode.Parse(periodic.Args);
        if (periodic.Kwargs is not null) json["kwargs"] = JsonNode.Parse(periodic.Kwargs);
        if (periodic.CatchUpWindow != 0) json["catch_up_window"] = periodic.CatchUpWindow;
        if (periodic.Paused) json["paused"] = true;
        var options = new JsonObject();
        if (periodic.Queue is not null) options["queue"] = periodic.Queue;
        if (periodic.Expires != 0) options["expires"] = periodic.Expires;
        json["options"] = options;
        return json;
    }
}
