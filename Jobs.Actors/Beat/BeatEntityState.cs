using System.Globalization;

namespace Jobs.Actors.Beat;

/// <summary>A command's outcome: the events to journal (none: nothing changes), or why it is refused.</summary>
public sealed record BeatDecision(IReadOnlyList<IBeatEvent> Events, EntryRejected? Rejection = null)
{
    public static readonly BeatDecision Nothing = new([]);

    public static BeatDecision Of(params IBeatEvent[] events) => new(events);

    public static BeatDecision Reject(string name, string field, string message, bool notFound = false) =>
        new([], new EntryRejected(name, field, message, notFound));
}

/// <summary>
/// The state of one schedule entry, rebuilt from its events (and its snapshot: this record). <c>Decide</c> turns a
/// command, or the clock reaching a tick, into events; <c>Apply</c> folds an event in. Both are pure, so the rules —
/// which source wins, catch-up, overlap — are tested without actors and with any clock.
/// </summary>
public sealed record BeatEntityState : IJobsMessage
{
    public string Name { get; init; } = "";
    public EntryDefinition? Definition { get; init; }
    public string Source { get; init; } = "";
    public string? Fingerprint { get; init; }
    public bool Paused { get; init; }
    public bool Removed { get; init; }

    /// <summary>How often the name was defined after being free: part of every task id, so a recreated entry never reuses one.</summary>
    public int Generation { get; init; }

    public DateTimeOffset Anchor { get; init; }

    /// <summary>The latest tick decided (fired, skipped, queued or missed); ticks after it are still to come.</summary>
    public DateTimeOffset Cursor { get; init; }

    public RunRecord? LastRun { get; init; }
    public DateTimeOffset? Queued { get; init; }
    public long Fired { get; init; }
    public long Skipped { get; init; }
    public long Missed { get; init; }
    public long ManualRuns { get; init; }
    public SkipRecord? LastSkipped { get; init; }
    public SkipRecord? LastMissed { get; init; }

    public static BeatEntityState Empty(string name) => new() { Name = name };

    public bool IsDefined => Definition is not null && !Removed;

    /// <summary>The next tick to wait for; null when paused, removed, or a clocked entry has fired.</summary>
    public DateTimeOffset? NextTick => IsDefined && !Paused ? BeatSchedule.NextAfter(Definition!, Anchor, Cursor) : null;

    /// <summary>
    /// Which definition wins. A run-time definition (<see cref="DefineMode.Create"/>) needs a free name;
    /// <see cref="DefineMode.Replace"/> replaces run-time entries only. A deploy (<see cref="DefineMode.Deploy"/>)
    /// defines a free name, changes nothing when its source's fingerprint is the one stored (a run-time pause stays),
    /// replaces the entry when the source changed it (its own <c>paused</c> then applies), and is refused for a name
    /// taken at run time.
    /// </summary>
    public BeatDecision Decide(DefineEntry command, DateTimeOffset now)
    {
        var fingerprint = command.Definition.Fingerprint();
        var defined = new EntryDefined(Name, command.Definition, command.Source, fingerprint, IsDefined ? Generation : Generation + 1, now);
        if (!IsDefined)
            return BeatDecision.Of(defined);
        switch (command.Mode)
        {
            case DefineMode.Create:
                return BeatDecision.Reject(Name, "name", $"an entry named '{Name}' exists already, defined {Described(Source)}; PUT replaces a run-time entry");
            case DefineMode.Replace when EntrySources.IsStatic(Source):
                return BeatDecision.Reject(Name, "name", $"'{Name}' is defined {Described(Source)}; change it there (at run time it can be paused, resumed and run now)");
            case DefineMode.Deploy when Source == EntrySources.Api:
                return BeatDecision.Reject(Name, "name",
                    $"entry '{Name}' {Described(command.Source)} has the name of an entry defined at run time; remove that one (DELETE /api/schedules/{Name}) or rename this one");
            default:
                return fingerprint == Fingerprint && command.Source == Source ? BeatDecision.Nothing : BeatDecision.Of(defined);
        }
    }

    public BeatDecision Decide(RemoveEntry command, DateTimeOffset now)
    {
        if (!IsDefined)
            return command.BySource ? BeatDecision.Nothing : NotFound();
        if (command.BySource != EntrySources.IsStatic(Source))
            return command.BySource
                ? BeatDecision.Nothing
                : BeatDecision.Reject(Name, "name", $"'{Name}' is defined {Described(Source)}; remove it there");
        return BeatDecision.Of(new EntryRemoved(Name, now));
    }

    public BeatDecision Decide(PauseEntry command, DateTimeOffset now) =>
        !IsDefined ? NotFound() : Paused ? BeatDecision.Nothing : BeatDecision.Of(new EntryPaused(Name, now));

    public BeatDecision Decide(ResumeEntry command, DateTimeOffset now) =>
        !IsDefined ? NotFound() : !Paused ? BeatDecision.Nothing : BeatDecision.Of(new EntryResumed(Name, now));

    /// <summary>A manual run is not a tick: it moves no cursor and ignores the overlap policy, and it becomes the last run.</summary>
    public BeatDecision Decide(RunEntryNow command, DateTimeOffset now) =>
        !IsDefined ? NotFound() : BeatDecision.Of(new TickFired(Name, now, ManualTaskId(Name, Generation, ManualRuns + 1), true, now));

    /// <summary>
    /// The clock is at <paramref name="now"/>: what happens to the ticks that have come due. At most one tick fires per
    /// decision (the entity sends it and waits for its acknowledgement before deciding again), so after a crash only the
    /// last fired tick can be unsent. A tick no later than <paramref name="misfireThreshold"/> is on time and runs; later
    /// ones follow the catch-up policy: <c>none</c> runs none of them; <c>once</c> runs the latest if it is within the
    /// window (and no on-time tick follows); <c>all</c> runs each within the window in turn; the others are recorded as
    /// missed (one event for a run of them, however long). <paramref name="previousRunning"/>: the last run is
    /// unfinished, for the overlap policy.
    /// </summary>
    public BeatDecision DecideDue(DateTimeOffset now, bool previousRunning, TimeSpan misfireThreshold)
    {
        if (!IsDefined || Paused)
            return BeatDecision.Nothing;
        var entry = Definition!;
        var blocked = previousRunning && entry.Overlap != OverlapPolicy.Allow && LastRun is not null;
        if (Queued is { } queued && !blocked)
            return BeatDecision.Of(new TickFired(Name, queued, TaskIdOf(Name, Generation, queued), false, now));
        if (BeatSchedule.NextAfter(entry, Anchor, Cursor) is not { } first || first > now)
            return BeatDecision.Nothing;
        var latest = BeatSchedule.LatestBetween(entry, Anchor, Cursor, now)!.Value;
        DateTimeOffset? fromWindow = entry.CatchUpWindow is { } window
            ? BeatSchedule.FirstFrom(entry, Anchor, Cursor, now - TimeSpan.FromSeconds(window)) is { } f && f <= latest ? f : null
            : null;
        DateTimeOffset? candidate;
        if (now - latest <= misfireThreshold)
        {
            // Ticks no later than the threshold are on time and run, oldest first, whatever the policy (timer jitter, a
            // busy node); only the later ones before them are subject to it, and only all runs those.
            var onTime = BeatSchedule.FirstFrom(entry, Anchor, Cursor, now - misfireThreshold)!.Value;
            candidate = entry.CatchUp == CatchUpPolicy.All && fromWindow is { } w && w < onTime ? w : onTime;
        }
        else
        {
            candidate = entry.CatchUp switch
            {
                CatchUpPolicy.None => null,
                CatchUpPolicy.Once => BeatSchedule.WithinWindow(entry, Anchor, latest, now) ? latest : null,
                _ => entry.CatchUpWindow is null ? latest : fromWindow,
            };
        }
        var events = new List<IBeatEvent>();
        if (candidate is not { } fire)
        {
            events.Add(new TicksMissed(Name, first, latest, BeatSchedule.CountBetween(entry, Anchor, Cursor, latest), now));
            return new BeatDecision(events);
        }
        if (fire > first)
        {
            var before = BeatSchedule.LatestBetween(entry, Anchor, Cursor, fire.AddTicks(-1))!.Value;
            events.Add(new TicksMissed(Name, first, before, BeatSchedule.CountBetween(entry, Anchor, Cursor, before), now));
        }
        if (!blocked)
        {
            events.Add(new TickFired(Name, fire, TaskIdOf(Name, Generation, fire), false, now));
            return new BeatDecision(events);
        }
        var previous = LastRun!.TaskId;
        var afterFire = fire.AddTicks(-1);
        if (entry.Overlap == OverlapPolicy.Queue && Queued is null)
        {
            if (latest > fire)
            {
                var beforeLatest = BeatSchedule.LatestBetween(entry, Anchor, afterFire, latest.AddTicks(-1))!.Value;
                events.Add(new TicksSkipped(Name, fire, beforeLatest, BeatSchedule.CountBetween(entry, Anchor, afterFire, beforeLatest), previous,
                    "the previous run is unfinished and a later tick is queued", now));
            }
            events.Add(new TickQueued(Name, latest, previous, now));
            return new BeatDecision(events);
        }
        var reason = entry.Overlap == OverlapPolicy.Queue ? "the previous run is unfinished and a tick is queued already" : "the previous run is unfinished";
        events.Add(new TicksSkipped(Name, fire, latest, BeatSchedule.CountBetween(entry, Anchor, afterFire, latest), previous, reason, now));
        return new BeatDecision(events);
    }

    public BeatEntityState Apply(IBeatEvent @event) => @event switch
    {
        EntryDefined e => this with
        {
            Definition = e.Definition,
            Source = e.Source,
            Fingerprint = e.Fingerprint,
            Paused = e.Definition.Paused,
            Removed = false,
            Generation = e.Generation,
            Anchor = BeatSchedule.Anchor(e.Timestamp),
            // A clocked instant already past still runs once (by its catch-up policy); other schedules start from now.
            Cursor = e.Definition.Clocked is { } at && at <= e.Timestamp ? at.AddTicks(-1) : e.Timestamp,
            Queued = null,
        },
        EntryRemoved => this with { Removed = true, Queued = null },
        EntryPaused => this with { Paused = true },
        // Ticks that fell while paused are not caught up.
        EntryResumed e => this with { Paused = false, Cursor = Max(Cursor, e.Timestamp) },
        TickFired { Manual: true } e => this with { ManualRuns = ManualRuns + 1, LastRun = new RunRecord(e.Tick, e.TaskId, e.Timestamp, true) },
        TickFired e => this with
        {
            Cursor = Max(Cursor, e.Tick),
            Fired = Fired + 1,
            LastRun = new RunRecord(e.Tick, e.TaskId, e.Timestamp, false),
            Queued = Queued == e.Tick ? null : Queued,
        },
        TicksMissed e => this with
        {
            Cursor = Max(Cursor, e.Last),
            Missed = Missed + e.Count,
            LastMissed = new SkipRecord(e.First, e.Last, e.Count, "missed: later than the catch-up policy allows", e.Timestamp),
        },
        TicksSkipped e => this with
        {
            Cursor = Max(Cursor, e.Last),
            Skipped = Skipped + e.Count,
            LastSkipped = new SkipRecord(e.First, e.Last, e.Count, $"{e.Reason} ({e.PreviousTaskId})", e.Timestamp),
        },
        TickQueued e => this with { Cursor = Max(Cursor, e.Tick), Queued = e.Tick },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown beat event"),
    };

    public EntryView ToView() => new(Name, IsDefined ? Definition : null, Source, Paused, Anchor, Cursor, NextTick, LastRun, Queued,
        Fired, Skipped, Missed, LastSkipped, LastMissed, Generation);

    /// <summary>The task id of a tick: the same for every resend of that tick, and never used by another entry or tick.</summary>
    public static string TaskIdOf(string name, int generation, DateTimeOffset tick)
    {
        var utc = tick.UtcDateTime;
        var text = utc.ToString(utc.Millisecond == 0 && utc.Ticks % TimeSpan.TicksPerMillisecond == 0 ? "yyyyMMdd'T'HHmmss'Z'" : "yyyyMMdd'T'HHmmss.fffffff'Z'",
            CultureInfo.InvariantCulture);
        return $"beat:{name}:{generation}:{text}";
    }

    public static string ManualTaskId(string name, int generation, long run) => $"beat:{name}:{generation}:run-now-{run}";

    private BeatDecision NotFound() => BeatDecision.Reject(Name, "name", $"no schedule entry named '{Name}'", notFound: true);

    private static string Described(string source) => source switch
    {
        EntrySources.Hocon => "in HOCON (jobs.beat.schedule)",
        EntrySources.Attribute => "by a [Periodic] attribute",
        _ => "at run time (HTTP or CLI)",
    };

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
