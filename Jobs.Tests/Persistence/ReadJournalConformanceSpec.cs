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
/// events by tag, resuming from an offset, and live queries seeing events written after they started; current
/// queries that end where the journal ended when they started, and tag queries that go on across deleted events.
/// A journal spread over partitions orders a tag's events per persistence id only
/// (<paramref name="tagOrderAcrossIds"/> false): events of different ids then come in any order. A journal that lists
/// tag entries without their events (<paramref name="listsTagEntries"/>, <see cref="Jobs.Actors.Persistence.ICurrentTagEntriesQuery"/>)
/// lists them as its events-by-tag query orders the events, with the same offsets.
/// </summary>
public abstract class ReadJournalConformanceSpec(Config config, string readJournalId, bool tagOrderAcrossIds = true, bool listsTagEntries = false)
    : TestKit(PersistenceBackends.Setup(config))
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

    private async Task<IReadOnlyList<T>> All<T>(Source<T, Akka.NotUsed> source, TimeSpan? wait = null) =>
        await source.RunWith(Sink.Seq<T>(), Sys.Materializer()).WaitAsync(wait ?? Wait);

    /// <summary>Tag query results in write order, or, across partitions, in write order per persistence id.</summary>
    private void AssertTagOrder(IEnumerable<(string, long)> expected, IEnumerable<EventEnvelope> actual)
    {
        var events = actual.Select(e => (e.PersistenceId, e.SequenceNr)).ToArray();
        if (tagOrderAcrossIds)
        {
            Assert.Equal(expected, events);
            return;
        }
        Assert.Equal(expected.Order(), events.Order());
        foreach (var id in events.Select(e => e.PersistenceId).Distinct())
            Assert.Equal(expected.Where(e => e.Item1 == id), events.Where(e => e.PersistenceId == id));
    }

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
        AssertTagOrder([(_pid, 1L), (_pid, 2L), (_pid + "-b", 1L)], events);
        var first = events.First(e => e.PersistenceId == _pid);
        Assert.Equal("event-1", first.Event);

        var rest = await All(query.CurrentEventsByTag(_tag, first.Offset));
        AssertTagOrder(events.SkipWhile(e => e != first).Skip(1).Select(e => (e.PersistenceId, e.SequenceNr)), rest);
        Assert.Contains(rest, e => e.PersistenceId == _pid && e.SequenceNr == 2);
    }

    private Jobs.Actors.Persistence.ICurrentTagEntriesQuery? TagEntries()
    {
        if (listsTagEntries)
            return Assert.IsAssignableFrom<Jobs.Actors.Persistence.ICurrentTagEntriesQuery>(Queries);
        Assert.False(Queries is Jobs.Actors.Persistence.ICurrentTagEntriesQuery);
        return null;
    }

    [Fact]
    public async Task Tag_entries_are_the_tagged_events_offsets_and_ids_resume_from_an_offset_and_leave_the_young_ones()
    {
        if (TagEntries() is not { } query)
            return;
        Write(_pid, 1, 4, tagged: true);
        Write(_pid + "-b", 1, 1, tagged: true);
        Write(_pid + "-c", 1, 1);
        var entries = await All(query.CurrentTagEntries(_tag, Offset.NoOffset(), TimeSpan.Zero));
        var events = await All(((ICurrentEventsByTagQuery)Queries).CurrentEventsByTag(_tag, Offset.NoOffset()));
        Assert.Equal(events.Select(e => (e.Offset, e.PersistenceId, e.SequenceNr)), entries.Select(e => (e.Offset, e.PersistenceId, e.SequenceNr)));
        var rest = await All(query.CurrentTagEntries(_tag, entries[1].Offset, TimeSpan.Zero));
        AssertTagOrder(entries.Skip(2).Select(e => (e.PersistenceId, e.SequenceNr)),
            rest.Select(e => new EventEnvelope(e.Offset, e.PersistenceId, e.SequenceNr, "", 0, [])));
        Assert.Empty(await All(query.CurrentTagEntries(_tag, Offset.NoOffset(), TimeSpan.FromHours(1))));
    }

    [Fact]
    public async Task The_events_of_tag_entries_come_in_their_order_without_the_deleted_ones()
    {
        if (TagEntries() is not { } query)
            return;
        Write(_pid, 1, 3, tagged: true);
        Write(_pid + "-b", 1, 1, tagged: true);
        var entries = await All(query.CurrentTagEntries(_tag, Offset.NoOffset(), TimeSpan.Zero));
        DeleteTo(_pid, 1);
        var chosen = entries.Where(e => e.PersistenceId != _pid || e.SequenceNr != 2).Reverse().ToArray();
        var events = await query.EventsOfAsync(chosen);
        Assert.Equal(chosen.Where(e => e.PersistenceId != _pid || e.SequenceNr != 1).Select(e => (e.Offset, e.PersistenceId, e.SequenceNr, (object)$"event-{e.SequenceNr}")),
            events.Select(e => (e.Offset, e.PersistenceId, e.SequenceNr, e.Event)));
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

    private void DeleteTo(string pid, long sequenceNr)
    {
        var probe = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo(pid, sequenceNr, probe.Ref));
        probe.ExpectMsg<DeleteMessagesSuccess>();
    }

    [Fact]
    public async Task Current_events_by_tag_go_on_past_a_page_of_deleted_events()
    {
        // Pages hold 3 entries: the first two pages are nothing but deleted events. Akka.Persistence.Sql takes the
        // gaps deleted rows leave in its ordering for writes still in flight and waits ~10 s before it moves past them.
        Write(_pid, 1, 7, tagged: true);
        DeleteTo(_pid, 6);
        Write(_pid + "-b", 1, 1, tagged: true);
        var events = await All(((ICurrentEventsByTagQuery)Queries).CurrentEventsByTag(_tag, Offset.NoOffset()), TimeSpan.FromSeconds(30));
        AssertTagOrder([(_pid, 7L), (_pid + "-b", 1L)], events);
    }

    [Fact]
    public async Task An_offset_read_before_a_delete_resumes_without_losing_later_events()
    {
        Write(_pid, 1, 3, tagged: true);
        var query = (ICurrentEventsByTagQuery)Queries;
        var first = (await All(query.CurrentEventsByTag(_tag, Offset.NoOffset())))[0];
        DeleteTo(_pid, 2);
        Write(_pid + "-b", 1, 2, tagged: true);
        var rest = await All(query.CurrentEventsByTag(_tag, first.Offset), TimeSpan.FromSeconds(30));
        AssertTagOrder([(_pid, 3L), (_pid + "-b", 1L), (_pid + "-b", 2L)], rest);
    }

    // Retention's purge (issue 17): a persistence id removed whole, through the journal's IJournalRetention.

    private void Purge(string pid) =>
        Jobs.Actors.Retention.IJournalRetention.For(Sys, Jobs.Actors.Retention.RetentionSettings.Create(Sys.Settings.Config))
            .PurgeAsync([pid]).Wait(Wait);

    [Fact]
    public async Task A_purged_id_leaves_current_persistence_ids_and_its_events_leave_every_query()
    {
        Write(_pid, 1, 3, tagged: true);
        Write(_pid + "-b", 1, 2, tagged: true);
        Purge(_pid);
        var ids = await All(((ICurrentPersistenceIdsQuery)Queries).CurrentPersistenceIds());
        Assert.DoesNotContain(_pid, ids);
        Assert.Contains(_pid + "-b", ids);
        Assert.Empty(await All(((ICurrentEventsByPersistenceIdQuery)Queries).CurrentEventsByPersistenceId(_pid, 0, long.MaxValue)));
        var tagged = await All(((ICurrentEventsByTagQuery)Queries).CurrentEventsByTag(_tag, Offset.NoOffset()), TimeSpan.FromSeconds(30));
        AssertTagOrder([(_pid + "-b", 1L), (_pid + "-b", 2L)], tagged);
    }

    [Fact]
    public async Task An_offset_read_before_a_purge_resumes_without_losing_later_events()
    {
        Write(_pid, 1, 3, tagged: true);
        var query = (ICurrentEventsByTagQuery)Queries;
        var first = (await All(query.CurrentEventsByTag(_tag, Offset.NoOffset())))[0];
        Purge(_pid);
        Write(_pid + "-b", 1, 2, tagged: true);
        var rest = await All(query.CurrentEventsByTag(_tag, first.Offset), TimeSpan.FromSeconds(30));
        AssertTagOrder([(_pid + "-b", 1L), (_pid + "-b", 2L)], rest);
    }

    [Fact]
    public async Task A_purged_id_is_new_again_its_highest_zero_and_its_next_write_number_one()
    {
        Write(_pid, 1, 3, tagged: true);
        Purge(_pid);
        Purge(_pid);
        var probe = CreateTestProbe();
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, _pid, probe.Ref));
        Assert.Equal(0, probe.ExpectMsg<RecoverySuccess>().HighestSequenceNr);
        Write(_pid, 1, 1, tagged: true);
        var events = await All(((ICurrentEventsByPersistenceIdQuery)Queries).CurrentEventsByPersistenceId(_pid, 0, long.MaxValue));
        Assert.Equal([1L], events.Select(e => e.SequenceNr));
    }

    [Fact]
    public async Task Current_events_by_tag_end_at_the_end_the_journal_had_when_they_started()
    {
        Write(_pid, 1, 4, tagged: true);
        var wrote = false;
        // Writes more while the query runs, once its first event is through; the query still ends where the journal ended.
        var events = await All(((ICurrentEventsByTagQuery)Queries).CurrentEventsByTag(_tag, Offset.NoOffset()).Select(e =>
        {
            if (!wrote)
            {
                wrote = true;
                Write(_pid, 5, 7, tagged: true);
            }
            return e;
        }));
        Assert.Equal([1L, 2, 3, 4], events.Select(e => e.SequenceNr));
    }

    [Fact]
    public async Task Current_events_by_persistence_id_end_at_the_end_the_journal_had_when_they_started()
    {
        Write(_pid, 1, 4);
        var wrote = false;
        var events = await All(((ICurrentEventsByPersistenceIdQuery)Queries).CurrentEventsByPersistenceId(_pid, 1, long.MaxValue).Select(e =>
        {
            if (!wrote)
            {
                wrote = true;
                Write(_pid, 5, 7);
            }
            return e;
        }));
        Assert.Equal([1L, 2, 3, 4], events.Select(e => e.SequenceNr));
    }
}
