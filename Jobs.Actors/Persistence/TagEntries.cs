using Akka;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;

namespace Jobs.Actors.Persistence;

/// <summary>One entry of a tag: where it stands in the tag (its offset) and which event it names, without the event.</summary>
public sealed record TagEntry(Offset Offset, string PersistenceId, long SequenceNr);

/// <summary>
/// A read journal that lists a tag's entries without reading their events, and reads chosen events: a reader that
/// already holds most of a tag's events from elsewhere (the monitor, from its live feed) reads only the ones it lacks.
/// </summary>
public interface ICurrentTagEntriesQuery : IReadJournal
{
    /// <summary>
    /// The tag's entries after <paramref name="offset"/> (exclusive, as in events-by-tag, whose offsets these are),
    /// up to the entries written <paramref name="settle"/> before the query started by the journal's clock, then the
    /// end: entries younger than that are left to the next query.
    /// </summary>
    Source<TagEntry, NotUsed> CurrentTagEntries(string tag, Offset? offset, TimeSpan settle);

    /// <summary>The events these entries name, in their order; an event deleted or purged since it was tagged is left out.</summary>
    Task<IReadOnlyList<EventEnvelope>> EventsOfAsync(IReadOnlyList<TagEntry> entries);
}
