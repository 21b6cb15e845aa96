using System.Collections.Immutable;
using Akka.Persistence.Journal;

namespace Jobs.Actors.Monitoring;

/// <summary>Tags every journaled task event with <see cref="Tag"/>, bound in <c>hocon/monitoring.conf</c> on the SQL journal (the Redis one binds <see cref="Tasks.TaskJournalAdapter"/>).</summary>
public sealed class TaskEventTagger : IWriteEventAdapter
{
    public const string Tag = "task";

    private static readonly IImmutableSet<string> Tags = ImmutableHashSet.Create(Tag);

    public string Manifest(object evt) => string.Empty;

    public object ToJournal(object evt) => new Tagged(evt, Tags);
}
