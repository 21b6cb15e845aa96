using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Actors.Beat;

namespace Jobs.Actors.Control;

/// <summary>The <c>beat</c> palette: schedule entries listed, added, removed, paused, resumed, run now, and their next ticks.</summary>
internal sealed class BeatCommands(BeatClient beat)
{
    private static readonly Dictionary<string, string> AddFlags = new()
    {
        ["--cron"] = "cron", ["--interval"] = "interval", ["--clocked"] = "clocked", ["--args"] = "args", ["--kwargs"] = "kwargs",
        ["--queue"] = "queue", ["--expires"] = "expires", ["--time-zone"] = "time_zone", ["--catch-up"] = "catch_up",
        ["--catch-up-window"] = "catch_up_window", ["--overlap"] = "overlap",
    };

    public const string AddUsage =
        "usage: beat add NAME TASK --cron EXPR|--interval SECONDS|--clocked ISO [--args JSON] [--kwargs JSON] [--queue Q] [--expires S] [--time-zone ZONE] [--catch-up none|once|all] [--catch-up-window S] [--overlap allow|skip|queue] [--paused]";

    public async Task<JsonNode> RunAsync(string command, IReadOnlyList<string> args)
    {
        try
        {
            return command switch
            {
                "list" => await ListAsync().ConfigureAwait(false),
                "add" => Row(await AddAsync(args).ConfigureAwait(false)),
                "remove" => await RemoveAsync(Name(args, "remove")).ConfigureAwait(false),
                "pause" => Row(await beat.PauseAsync(Name(args, "pause")).ConfigureAwait(false)),
                "resume" => Row(await beat.ResumeAsync(Name(args, "resume")).ConfigureAwait(false)),
                "run-now" => Row(await beat.RunNowAsync(Name(args, "run-now")).ConfigureAwait(false)),
                "next" => await NextAsync(args).ConfigureAwait(false),
                _ => throw new CommandException($"unknown command 'beat {command}'"),
            };
        }
        catch (InvalidEntryException e)
        {
            throw new CommandException(e.Field.Length > 0 ? $"{e.Field}: {e.Message}" : e.Message);
        }
        catch (EntryRejectedException e)
        {
            throw e.NotFound ? new UnknownNameException(e.Message) : new CommandException($"{e.Field}: {e.Message}");
        }
    }

    private static string Name(IReadOnlyList<string> args, string command) =>
        args.Count == 1 ? args[0] : throw new CommandException($"usage: beat {command} NAME");

    /// <summary>One row per entry: what it sends, when, when next (in its zone), and how its last run went.</summary>
    private async Task<JsonNode> ListAsync()
    {
        var views = await beat.ListAsync().ConfigureAwait(false);
        var runs = await beat.LastRunsAsync(views).ConfigureAwait(false);
        var result = new JsonObject();
        foreach (var view in views)
            result[view.Name] = Row(view, view.LastRun is { } run ? runs.GetValueOrDefault(run.TaskId) : null)[view.Name]!.DeepClone();
        return result;
    }

    private static JsonObject Row(EntryView view) => Row(view, null);

    private static JsonObject Row(EntryView view, Tasks.TaskResult? lastRun)
    {
        var described = BeatClient.Describe(view, DateTimeOffset.UtcNow, lastRun, upcoming: 1);
        var entry = view.Definition!;
        return new JsonObject
        {
            [view.Name] = new JsonObject
            {
                ["task"] = entry.Task,
                ["schedule"] = described["schedule"]!.DeepClone(),
                ["next_run"] = described["next_run_times"]!.AsArray().FirstOrDefault()?["at"]?.DeepClone(),
                ["last_run"] = view.LastRun?.TaskId,
                ["last_state"] = described["last_run"]?["state"]?.DeepClone(),
                ["paused"] = view.Paused ? "paused" : "",
                ["fired"] = view.Fired,
                ["skipped"] = view.Skipped + view.Missed,
                ["source"] = view.Source,
            },
        };
    }

    private Task<EntryView> AddAsync(IReadOnlyList<string> args)
    {
        if (args.Count < 2 || args[0].StartsWith("--", StringComparison.Ordinal) || args[1].StartsWith("--", StringComparison.Ordinal))
            throw new CommandException(AddUsage);
        var entry = new JsonObject { ["name"] = args[0], ["task"] = args[1] };
        var options = new JsonObject();
        for (var i = 2; i < args.Count; i++)
        {
            if (args[i] == "--paused")
            {
                entry["paused"] = true;
                continue;
            }
            if (!AddFlags.TryGetValue(args[i], out var field) || i + 1 >= args.Count)
                throw new CommandException(AddFlags.ContainsKey(args[i]) ? $"{args[i]} needs a value" : $"unknown option '{args[i]}'; {AddUsage}");
            var value = args[++i];
            JsonNode? node = field switch
            {
                "args" or "kwargs" => ParseJson(args[i - 1], value),
                "interval" or "expires" or "catch_up_window" => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                    ? JsonValue.Create(seconds) : throw new CommandException($"{args[i - 1]} must be a number of seconds, not '{value}'"),
                _ => JsonValue.Create(value),
            };
            if (field is "queue" or "expires")
                options[field] = node;
            else
                entry[field] = node;
        }
        entry["options"] = options;
        return beat.DefineAsync(JsonSerializer.SerializeToElement(entry), null, DefineMode.Create);
    }

    private static JsonNode? ParseJson(string flag, string value)
    {
        try
        {
            return JsonNode.Parse(value);
        }
        catch (JsonException e)
        {
            throw new CommandException($"{flag} must be JSON: {e.Message}");
        }
    }

    private async Task<JsonNode> RemoveAsync(string name)
    {
        await beat.RemoveAsync(name).ConfigureAwait(false);
        return new JsonObject { [name] = "removed" };
    }

    /// <summary>The next N ticks (default 5) in the entry's zone and in UTC.</summary>
    private async Task<JsonNode> NextAsync(IReadOnlyList<string> args)
    {
        if (args.Count is < 1 or > 2)
            throw new CommandException("usage: beat next NAME [N]");
        var count = 5;
        if (args.Count == 2 && (!int.TryParse(args[1], out count) || count is < 1 or > 1000))
            throw new CommandException($"N must be a whole number from 1 to 1000, not '{args[1]}'");
        var view = await beat.GetAsync(args[0]).ConfigureAwait(false);
        var described = BeatClient.Describe(view, DateTimeOffset.UtcNow, null, count);
        var result = new JsonObject();
        var i = 0;
        foreach (var tick in described["next_run_times"]!.AsArray())
            result[(++i).ToString(CultureInfo.InvariantCulture)] = new JsonObject { [view.Definition!.TimeZone] = tick!["at"]!.DeepClone(), ["utc"] = tick["utc"]!.DeepClone() };
        return result;
    }
}
