using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Beat;

/// <summary>A command the entry refused: <see cref="Field"/> names what to fix; <see cref="NotFound"/> when there is no such entry.</summary>
public sealed class EntryRejectedException(EntryRejected rejected) : Exception(rejected.Message)
{
    public string Field { get; } = rejected.Field;
    public bool NotFound { get; } = rejected.NotFound;
}

/// <summary>
/// The beat as the HTTP API and the CLI use it: define, remove, pause, resume and run entries (each answered once it is
/// journaled), list them from the directory, and describe them with their next ticks and the last run's state.
/// </summary>
public sealed class BeatClient(IActorRef entries, IActorRef directory, IActorRef tasks, BeatSettings settings, ITaskCatalog catalog, TimeSpan timeout)
{
    public BeatSettings Settings { get; } = settings;

    /// <summary>Parses and checks an entry given as JSON (the task must be one the cluster's workers register) and defines it.</summary>
    public Task<EntryView> DefineAsync(JsonElement json, string? name, DefineMode mode, CancellationToken cancel = default)
    {
        var definition = EntryParser.Parse(json, name, Settings.DefaultTimeZone);
        if (!catalog.IsRegistered(definition.Task))
            throw new InvalidEntryException("task", $"no worker registers a task named '{definition.Task}'");
        return AskAsync(new DefineEntry(definition.Name, definition, EntrySources.Api, mode), cancel);
    }

    public Task<EntryView> DefineAsync(EntryDefinition definition, string source, DefineMode mode, CancellationToken cancel = default,
        TimeSpan? askTimeout = null) =>
        AskAsync(new DefineEntry(definition.Name, definition, source, mode), cancel, askTimeout);

    public Task<EntryView> RemoveAsync(string name, bool bySource = false, CancellationToken cancel = default, TimeSpan? askTimeout = null) =>
        AskAsync(new RemoveEntry(Checked(name), bySource), cancel, askTimeout);

    public Task<EntryView> PauseAsync(string name, CancellationToken cancel = default) => AskAsync(new PauseEntry(Checked(name)), cancel);

    public Task<EntryView> ResumeAsync(string name, CancellationToken cancel = default) => AskAsync(new ResumeEntry(Checked(name)), cancel);

    /// <summary>Sends the entry's task now; answered once the task is RECEIVED, with the run as the entry's last run.</summary>
    public Task<EntryView> RunNowAsync(string name, CancellationToken cancel = default) => AskAsync(new RunEntryNow(Checked(name)), cancel);

    public Task<EntryView> GetAsync(string name, CancellationToken cancel = default) => AskAsync(new GetEntry(Checked(name)), cancel);

    /// <summary>Every listed entry, from every directory partition (no entry is woken), by name.</summary>
    public async Task<IReadOnlyList<EntryView>> ListAsync(CancellationToken cancel = default, TimeSpan? askTimeout = null)
    {
        var partitions = await Task.WhenAll(Enumerable.Range(0, Settings.DirectoryPartitions)
            .Select(p => directory.Ask<DirectoryEntries>(new GetDirectoryEntries(p), askTimeout ?? timeout, cancel))).ConfigureAwait(false);
        return partitions.SelectMany(p => p.Entries).Select(r => r.View).Where(v => v.Definition is not null)
            .OrderBy(v => v.Name, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The states of the entries' last runs, asked of their task entities at once; a task that does not answer in time is left out.</summary>
    public async Task<IReadOnlyDictionary<string, TaskResult>> LastRunsAsync(IEnumerable<EntryView> views, CancellationToken cancel = default)
    {
        var asks = views.Where(v => v.LastRun is not null).Select(async v =>
        {
            try
            {
                return await tasks.Ask<TaskResult>(new GetTaskResult(v.LastRun!.TaskId), TimeSpan.FromSeconds(5), cancel).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                return null;
            }
        });
        return (await Task.WhenAll(asks).ConfigureAwait(false)).OfType<TaskResult>().ToDictionary(r => r.TaskId);
    }

    private async Task<EntryView> AskAsync(IBeatCommand command, CancellationToken cancel, TimeSpan? askTimeout = null) =>
        await entries.Ask<object>(command, askTimeout ?? timeout, cancel).ConfigureAwait(false) switch
        {
            EntryView view => view,
            EntryRejected rejected => throw new EntryRejectedException(rejected),
            var other => throw new InvalidOperationException($"unexpected answer {other?.GetType().Name}"),
        };

    private static string Checked(string name)
    {
        EntryParser.CheckName(name);
        return name;
    }

    /// <summary>
    /// An entry as the API shows it: its definition, source, the schedule in words, the next <paramref name="upcoming"/>
    /// ticks (in the entry's zone and in UTC, from which a viewer's zone is computed), the last run with its task's state,
    /// a queued tick, and its counters.
    /// </summary>
    public static JsonObject Describe(EntryView view, DateTimeOffset now, TaskResult? lastRun, int upcoming = 5)
    {
        var entry = view.Definition!;
        var json = entry.ToJson();
        var zone = BeatSchedule.Zone(entry);
        // Whether it is paused now (a run-time pause), not as its definition started it.
        json["paused"] = view.Paused;
        json["source"] = view.Source;
        json["schedule"] = BeatSchedule.Describe(entry);
        var from = now > view.Cursor ? now : view.Cursor;
        json["next_run_times"] = view.Paused
            ? new JsonArray()
            : new JsonArray(BeatSchedule.Upcoming(entry, view.Anchor, from, upcoming)
                .Select(t => (JsonNode?)new JsonObject { ["at"] = Iso(TimeZoneInfo.ConvertTime(t, zone)), ["utc"] = Iso(t) }).ToArray());
        json["last_run"] = view.LastRun is { } run
            ? new JsonObject
            {
                ["tick"] = Iso(run.Tick), ["task_id"] = run.TaskId, ["fired_at"] = Iso(run.FiredAt), ["manual"] = run.Manual,
                ["state"] = lastRun?.State.ToCelery(),
            }
            : null;
        json["queued"] = view.Queued is { } queued ? Iso(queued) : null;
        json["fired"] = view.Fired;
        json["skipped"] = view.Skipped;
        json["missed"] = view.Missed;
        json["last_skipped"] = Skip(view.LastSkipped);
        json["last_missed"] = Skip(view.LastMissed);
        return json;
    }

    private static JsonObject? Skip(SkipRecord? skip) => skip is null
        ? null
        : new JsonObject { ["first"] = Iso(skip.First), ["last"] = Iso(skip.Last), ["count"] = skip.Count, ["reason"] = skip.Reason, ["at"] = Iso(skip.At) };

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFzzz", CultureInfo.InvariantCulture);
}
