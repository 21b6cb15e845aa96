using System.Collections.Immutable;
using System.Globalization;
using Akka.Persistence.Journal;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Persistence;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Retention;

/// <summary>
/// What a journaled event adds to the expiry index: a finished task's (or canvas's) persistence id and the time its
/// result expires. Written with the event, in the same atomic write, so the index is as durable as the result and a
/// crash can leave neither a result without its entry nor an entry without its result.
/// </summary>
public static class ExpiryEntries
{
    public static (string PersistenceId, DateTimeOffset Due)? Of(object journaled) => journaled switch
    {
        ITaskFinished { ResultExpiresAt: { } due } finished => (TaskEntity.PersistenceIdOf(finished.TaskId), due),
        Canvas.ICanvasFinal { ResultExpiresAt: { } due } settled => (Canvas.CanvasEntity.PersistenceIdOf(settled.CanvasId), due),
        _ => null,
    };

    /// <summary>
    /// On SQLite the index is a tag, "expiry:" and the due time in epoch milliseconds, zero-padded so that the tags
    /// table's index on tag orders them by time; the sweeper reads a range of it.
    /// </summary>
    public const string TagPrefix = "expiry:";

    public static string Tag(DateTimeOffset due) =>
        TagPrefix + Math.Max(0, due.ToUnixTimeMilliseconds()).ToString("D15", CultureInfo.InvariantCulture);

    public static double Score(DateTimeOffset due) => due.ToUnixTimeMilliseconds();

    /// <summary>
    /// On Redis the index is the journal's <see cref="JournalIndexes.Expiry"/> sorted set (a tag per due time would be a
    /// stream key per millisecond), written by <see cref="TaskJournalAdapter"/>.
    /// </summary>
    public static IReadOnlyList<IndexOperation> IndexOperations(object journaled) =>
        Of(journaled) is { } entry ? [IndexOperation.AddToSortedSet(JournalIndexes.Expiry, entry.PersistenceId, Score(entry.Due))] : [];
}

/// <summary>The SQLite journal's adapter for task events: the monitor's "task" tag, and a finished task's expiry tag.</summary>
public sealed class SqlTaskEventAdapter : IWriteEventAdapter
{
    private static readonly IImmutableSet<string> TaskTags = ImmutableHashSet.Create(TaskEventTagger.Tag);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) =>
        ExpiryEntries.Of(evt) is { } entry ? new Tagged(evt, TaskTags.Add(ExpiryEntries.Tag(entry.Due))) : new Tagged(evt, TaskTags);
}

/// <summary>
/// The adapters for canvas events: a settled canvas's expiry index entry (<see cref="ExpiryEntries"/>) in the write of its
/// final event; other canvas events pass as they are (they carry no tag: the monitor reads task events only).
/// </summary>
public sealed class SqlCanvasEventAdapter : IWriteEventAdapter
{
    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) =>
        ExpiryEntries.Of(evt) is { } entry ? new Tagged(evt, ImmutableHashSet.Create(ExpiryEntries.Tag(entry.Due))) : evt;
}

/// <inheritdoc cref="SqlCanvasEventAdapter"/>
public sealed class RedisCanvasEventAdapter : IWriteEventAdapter
{
    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => ExpiryEntries.IndexOperations(evt) is { Count: > 0 } operations ? new Indexed(evt, operations) : evt;
}
