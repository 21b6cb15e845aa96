using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>
/// What a read journal must do: current and live queries of persistence ids, events by persistence id and
/// events by tag, resuming from an offset, and live queries seeing events written after they started.
/// </summary>
public abstract class ReadJournalConformanceSpec(Config config, string readJournalId) : TestKit(config)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _pid = "q-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _tag = "tag-" + Guid.NewGuid().ToString("N")[..6];

    private IReadJournal Queries => PersistenceQuery.Get(Sys).ReadJournalFor<IReadJournal>(readJournalId);

    private IActorRef Journal => Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);

    private void Write(string pid, long from, long to, bool tagged = false)
    {
        var writes = Enumerable.Range((int)from, (int)(to - from + 1)).Select(i =>
        {
            object payload = tagged ? new Tagged($"event-{i}", [_tag]) : $"event-{i}";
            return new AtomicWrite(new Persistent(payload, i, pid, string.Empty, false, ActorRefs.NoSender, "w"));
        }).ToArray();
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages(writes, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>();
        for (var i = 0; i < writes.Length; i++)
            probe.ExpectMsg<WriteMessageSuccess>();
    }

    private async Task<IReadOnlyList<T>> All<T>(Source<T, Akka.NotUsed> source) =>
        await source.RunWith(Sink.Seq<T>(), Sys.Materializer()).WaitAsync(Wait);

    private void Follow<T>(Source<T, Akka.NotUsed> source) =>
        source.RunForeach(e => TestActor.Tell(e!), Sys.Materializer());

    [Fact]
    public async Task Current_events_by_persistence_id_are_the_events_then_the_end()
    {
        Write(_pid, 1, 5);
        var events = await All(((ICurrentEventsByPersistenceIdQuery)Queries).CurrentEventsByPersistenceId(_pid, 2, 4));
        Assert.Equal([2L, 3, 4], events.Select(e => e.SequenceNr));
        Assert.Equal(["event-2", "event-3", "event-4"], events.Select(e => e.Event));
        Assert.All(events, e => Assert.Equal(_pid, e.PersistenceId));
    }

    [Fact]
    public void Live_events_by_persistence_id_include_later_writes()
    {
        Write(_pid, 1, 2);
        Follow(((IEventsByPersistenceIdQuery)Queries).EventsByPersistenceId(_pid, 1, long.MaxValue));
        Assert.Equal(1, ExpectMsg<EventEnvelope>(Wait).SequenceNr);
        Assert.Equal(2, ExpectMsg<EventEnvelope>(Wait).SequenceNr);
        Write(_pid, 3, 3);
        Assert.Equal("event-3", ExpectMsg<EventEnvelope>(Wait).Event);
    }

    [Fact]
    public async Task Current_persistence_ids_include_every_writer()
    {
        Write(_pid, 1, 1);
        Write(_pid + "-b", 1, 1);
        var ids = await All(((ICurrentPersistenceIdsQuery)Queries).CurrentPersistenceIds());
        Assert.Contains(_pid, ids);
        Assert.Contains(_pid + "-b", ids);
        Assert.Single(ids, id => id == _pid);
    }

    [Fact]
    public void Live_persistence_ids_include_later_writers()
    {
        // A first writer creates a new SQLite journal's tables, so the live query starts on a journal that exists.
        Write(_pid + "-first", 1, 1);
        Follow(((IPersistenceIdsQuery)Queries).PersistenceIds());
        Write(_pid, 1, 1);
        FishForMessage<string>(id => id == _pid, Wait);
    }

    [Fact]
    public async Task Current_events_by_tag_are_in_write_order_and_resume_from_an_offset()
    {
        Write(_pid, 1, 2, tagged: true);
        Write(_pid + "-b", 1, 1, tagged: true);
        Write(_pid + "-c", 1, 1);
        var query = (ICurrentEventsByTagQuery)Queries;
        var events = await All(query.CurrentEventsByTag(_tag, Offset.NoOffset()));
        Assert.Equal([(_pid, 1L), (_pid, 2L), (_pid + "-b", 1L)], events.Select(e => (e.PersistenceId, e.SequenceNr)));
        Assert.Equal("event-1", events[0].Event);

        var rest = await All(query.CurrentEventsByTag(_tag, events[0].Offset));
        Assert.Equal([(_pid, 2L), (_pid + "-b", 1L)], rest.Select(e => (e.PersistenceId, e.SequenceNr)));
    }

    [Fact]
    public void Live_events_by_tag_include_later_writes()
    {
        Write(_pid, 1, 1, tagged: true);
        Follow(((IEventsByTagQuery)Queries).EventsByTag(_tag, Offset.NoOffset()));
        Assert.Equal(1, ExpectMsg<EventEnvelope>(Wait).SequenceNr);
        Write(_pid, 2, 2, tagged: true);
        Assert.Equal(2, ExpectMsg<EventEnvelope>(Wait).SequenceNr);
    }
}
