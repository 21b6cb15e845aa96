namespace Jobs.Actors.Beat;

/// <summary>Every message a schedule entry accepts; the sharding extractor routes it by <see cref="EntryName"/>.</summary>
public interface IBeatCommand : IJobsMessage
{
    string EntryName { get; }
}

/// <summary>How a definition meets an entry that may exist already.</summary>
public enum DefineMode
{
    /// <summary><c>POST /api/schedules</c>: refused when the name is taken, whatever its source.</summary>
    Create,

    /// <summary><c>PUT /api/schedules/{name}</c>: creates or replaces a run-time entry; refused for HOCON and attribute entries.</summary>
    Replace,

    /// <summary>A node applying its HOCON and attributes at start: see <see cref="BeatEntityState.Decide(DefineEntry, DateTimeOffset)"/>.</summary>
    Deploy,
}

/// <summary>Defines or redefines an entry. Answered with <see cref="EntryView"/> once journaled and listed, or <see cref="EntryRejected"/>.</summary>
public sealed record DefineEntry(string EntryName, EntryDefinition Definition, string Source, DefineMode Mode) : IBeatCommand;

/// <summary>
/// Removes an entry (its journal keeps its history). <see cref="BySource"/>: a deploy whose source no longer has it, which
/// removes HOCON and attribute entries only; otherwise a run-time removal, which refuses them.
/// </summary>
public sealed record RemoveEntry(string EntryName, bool BySource = false) : IBeatCommand;

/// <summary>No tick fires until <see cref="ResumeEntry"/>; ticks that fall meanwhile are not caught up.</summary>
public sealed record PauseEntry(string EntryName) : IBeatCommand;

public sealed record ResumeEntry(string EntryName) : IBeatCommand;

/// <summary>Sends the entry's task now, outside its schedule (also when paused). Answered once the task is RECEIVED.</summary>
public sealed record RunEntryNow(string EntryName) : IBeatCommand;

/// <summary>Answers the entry's <see cref="EntryView"/>, or <see cref="EntryRejected"/> with NotFound.</summary>
public sealed record GetEntry(string EntryName) : IBeatCommand;

/// <summary>From the directory: the entry's next tick is near (or the directory recovered). Acknowledged with <see cref="EntryWoken"/>.</summary>
public sealed record WakeEntry(string EntryName) : IBeatCommand;

/// <summary>A command refused, with the field at fault (as the HTTP API names it) and why.</summary>
public sealed record EntryRejected(string EntryName, string Field, string Message, bool NotFound = false) : IJobsMessage;

/// <summary>One run an entry sent: the tick it stands for (for a manual run, when it was asked) and its task id.</summary>
public sealed record RunRecord(DateTimeOffset Tick, string TaskId, DateTimeOffset FiredAt, bool Manual) : IJobsMessage;

/// <summary>Ticks that did not run: from <see cref="First"/> to <see cref="Last"/>, <see cref="Count"/> of them, and why.</summary>
public sealed record SkipRecord(DateTimeOffset First, DateTimeOffset Last, long Count, string Reason, DateTimeOffset At) : IJobsMessage;

/// <summary>
/// What an entry shows of itself (and what the directory lists): its definition and source, whether it is paused, its
/// schedule's position (<see cref="Anchor"/> for intervals, <see cref="Cursor"/>: the latest tick decided), the next
/// tick, the last run, a tick waiting behind an unfinished run, and its counters.
/// </summary>
public sealed record EntryView(
    string Name,
    EntryDefinition? Definition,
    string Source,
    bool Paused,
    DateTimeOffset Anchor,
    DateTimeOffset Cursor,
    DateTimeOffset? NextTick,
    RunRecord? LastRun,
    DateTimeOffset? Queued,
    long Fired,
    long Skipped,
    long Missed,
    SkipRecord? LastSkipped,
    SkipRecord? LastMissed,
    int Generation) : IJobsMessage;

/// <summary>What an entry journals; its state is the fold of these.</summary>
public interface IBeatEvent : IJobsMessage
{
    string EntryName { get; }
    DateTimeOffset Timestamp { get; }
}

public sealed record EntryDefined(string EntryName, EntryDefinition Definition, string Source, string Fingerprint, int Generation, DateTimeOffset Timestamp)
    : IBeatEvent;

public sealed record EntryRemoved(string EntryName, DateTimeOffset Timestamp) : IBeatEvent;

public sealed record EntryPaused(string EntryName, DateTimeOffset Timestamp) : IBeatEvent;

public sealed record EntryResumed(string EntryName, DateTimeOffset Timestamp) : IBeatEvent;

/// <summary>"Tick T fired as task id X": journaled before the task is sent, so a resend after a crash is the same task.</summary>
public sealed record TickFired(string EntryName, DateTimeOffset Tick, string TaskId, bool Manual, DateTimeOffset Timestamp) : IBeatEvent;

/// <summary>Ticks that came due late and, by the catch-up policy, will not run.</summary>
public sealed record TicksMissed(string EntryName, DateTimeOffset First, DateTimeOffset Last, long Count, DateTimeOffset Timestamp) : IBeatEvent;

/// <summary>Ticks skipped by the overlap policy while <see cref="PreviousTaskId"/> was unfinished.</summary>
public sealed record TicksSkipped(string EntryName, DateTimeOffset First, DateTimeOffset Last, long Count, string PreviousTaskId, string Reason,
    DateTimeOffset Timestamp) : IBeatEvent;

/// <summary>With overlap <c>queue</c>: the tick waits for <see cref="PreviousTaskId"/> to finish, then runs.</summary>
public sealed record TickQueued(string EntryName, DateTimeOffset Tick, string PreviousTaskId, DateTimeOffset Timestamp) : IBeatEvent;

/// <summary>A live event of the beat, published on <c>jobs-beat-events</c> once journaled (the monitor's <c>beat-tick</c>).</summary>
/// <param name="Outcome">fired, run-now, skipped, queued or missed.</param>
/// <param name="Lateness">Seconds between the tick and the decision.</param>
public sealed record BeatTick(string Entry, string Task, string Outcome, DateTimeOffset Tick, string? TaskId, long Count, double Lateness,
    DateTimeOffset Timestamp) : IJobsMessage;

/// <summary>Every message a directory partition accepts; routed by <see cref="Partition"/>.</summary>
public interface IBeatDirectoryCommand : IJobsMessage
{
    int Partition { get; }
}

/// <summary>
/// An entry tells its partition where it stands. The partition journals what it must not lose (the definition, pause,
/// whether the entry sleeps and when to wake it) and keeps the rest (last run, counters) in memory. With
/// <see cref="Ack"/> it answers <see cref="EntryListed"/> once that is journaled: an entry sleeps only after that answer.
/// </summary>
public sealed record ListEntry(int Partition, EntryView View, DateTimeOffset? WakeAt, bool Asleep, long Correlation, bool Ack) : IBeatDirectoryCommand;

public sealed record UnlistEntry(int Partition, string EntryName, long Correlation) : IBeatDirectoryCommand;

public sealed record EntryListed(string EntryName, long Correlation) : IJobsMessage;

/// <summary>An entry's answer to <see cref="WakeEntry"/>; until it comes, the partition wakes it again.</summary>
public sealed record EntryWoken(int Partition, string EntryName) : IBeatDirectoryCommand;

/// <summary>Answers <see cref="DirectoryEntries"/>: every entry the partition lists.</summary>
public sealed record GetDirectoryEntries(int Partition) : IBeatDirectoryCommand;

public sealed record DirectoryEntries(int Partition, IReadOnlyList<DirectoryRecord> Entries) : IJobsMessage;

/// <summary>What a partition knows of one entry. <see cref="WakeAt"/> is when to wake it, if it sleeps (null: only by a command).</summary>
public sealed record DirectoryRecord(EntryView View, DateTimeOffset? WakeAt, bool Asleep) : IJobsMessage;

public interface IBeatDirectoryEvent : IJobsMessage;

public sealed record DirectoryEntryListed(DirectoryRecord Record) : IBeatDirectoryEvent;

public sealed record DirectoryEntryUnlisted(string EntryName) : IBeatDirectoryEvent;

public sealed record DirectorySnapshot(IReadOnlyList<DirectoryRecord> Entries) : IJobsMessage;
