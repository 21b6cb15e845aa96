using System.Collections.Immutable;
using System.Globalization;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Persistence;
using Jobs.Actors.Persistence.Redis;
using Jobs.Actors.Persistence.Redis.Journal;
using Jobs.Actors.Persistence.Redis.Query;
using Jobs.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>
/// What only the Redis journal does, checked against a real redis-server and, where it matters, against the keys
/// themselves: batches across actors (one script call for many writes or replays, each answered alone), index
/// operations in the same atomic write, purges, the layout check, tag offsets, and snapshots judged by their
/// timestamp without being read. Batches are made certain, not likely: Redis is paused (CLIENT PAUSE) while the
/// requests arrive, so they wait in the journal's queue and go out together when it resumes.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisPluginSpec : TestKit, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly RedisServer _redis;
    private readonly string _prefix;
    private readonly ConnectionMultiplexer _admin;
    private readonly string _tag = "tag-" + Guid.NewGuid().ToString("N")[..6];

    public RedisPluginSpec(RedisServer redis) : this(redis, PersistenceBackends.NewPrefix())
    {
    }

    private RedisPluginSpec(RedisServer redis, string prefix) : base(PersistenceBackends.Redis(redis, prefix))
    {
        _redis = redis;
        _prefix = prefix;
        _admin = ConnectionMultiplexer.Connect(redis.ConnectionString + ",allowAdmin=true");
    }

    void IDisposable.Dispose()
    {
        _admin.Dispose();
        Dispose();
    }

    private IDatabase Db => _admin.GetDatabase();

    private IServer Server => _admin.GetServer(_admin.GetEndPoints()[0]);

    private RedisKeys Keys => new(_prefix, 1);

    private IActorRef Journal => Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);

    private IActorRef Snapshots => Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    private static string NewPid() => "r-" + Guid.NewGuid().ToString("N")[..10];

    private static Persistent Event(string pid, long sequenceNr, object? payload = null, string writer = "w") =>
        new(payload ?? $"event-{sequenceNr}", sequenceNr, pid, string.Empty, false, ActorRefs.NoSender, writer);

    /// <summary>Redis holds every command (writes only, or all) for a while: what arrives meanwhile queues up in the journal.</summary>
    private void PauseRedis(int milliseconds, string mode) => Server.Execute("CLIENT", "PAUSE", milliseconds, mode);

    private long ScriptCalls() =>
        Server.Info("commandstats").SelectMany(g => g).Where(p => p.Key == "cmdstat_evalsha")
            .Select(p => long.Parse(p.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture)).SingleOrDefault();

    private void Write(string pid, long from, long to, Func<long, object>? payload = null)
    {
        var probe = CreateTestProbe();
        var writes = Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => new AtomicWrite(Event(pid, i, payload?.Invoke(i)))).ToArray();
        Journal.Tell(new WriteMessages(writes, probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>(Wait);
        for (var i = 0; i < writes.Length; i++)
            probe.ExpectMsg<WriteMessageSuccess>(Wait);
    }

    private object Tagged(long sequenceNr) => new Tagged($"event-{sequenceNr}", [_tag]);

    private (IReadOnlyList<object> Payloads, long Highest) Replay(string pid, IActorRef? journal = null)
    {
        var probe = CreateTestProbe();
        (journal ?? Journal).Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, pid, probe.Ref));
        var payloads = new List<object>();
        while (true)
        {
            switch (probe.ExpectMsg<object>(Wait))
            {
                case ReplayedMessage replayed:
                    payloads.Add(replayed.Persistent.Payload);
                    break;
                case RecoverySuccess success:
                    return (payloads, success.HighestSequenceNr);
                case var other:
                    throw new Xunit.Sdk.XunitException($"unexpected {other}");
            }
        }
    }

    private async Task<IReadOnlyList<T>> All<T>(Source<T, Akka.NotUsed> source) =>
        await source.RunWith(Sink.Seq<T>(), Sys.Materializer()).WaitAsync(Wait);

    private RedisReadJournal Queries => PersistenceQuery.Get(Sys).ReadJournalFor<RedisReadJournal>(RedisReadJournal.Identifier);

    [Fact]
    public void Writes_of_many_actors_arriving_together_go_out_in_one_script_call_and_each_is_answered_alone()
    {
        Write(NewPid(), 1, 1);
        var writers = Enumerable.Range(0, 50).Select(_ => (Pid: NewPid(), Probe: CreateTestProbe())).ToArray();
        var calls = ScriptCalls();
        PauseRedis(500, "WRITE");
        foreach (var (pid, probe) in writers)
            Journal.Tell(new WriteMessages([new AtomicWrite(Event(pid, 1)), new AtomicWrite(Event(pid, 2))], probe.Ref, 1));
        foreach (var (pid, probe) in writers)
        {
            probe.ExpectMsg<WriteMessagesSuccessful>(Wait);
            Assert.Equal((pid, 1L), probe.ExpectMsg<WriteMessageSuccess>(Wait).Persistent is var p1 ? (p1.PersistenceId, p1.SequenceNr) : default);
            Assert.Equal((pid, 2L), probe.ExpectMsg<WriteMessageSuccess>(Wait).Persistent is var p2 ? (p2.PersistenceId, p2.SequenceNr) : default);
        }
        // The first two flushes left with one write each before the rest arrived (max-flushes-in-flight = 2); the other 48 share one call.
        Assert.InRange(ScriptCalls() - calls, 1, 3);
        Assert.All(writers, w => Assert.Equal(["event-1", "event-2"], Replay(w.Pid).Payloads));
    }

    [Fact]
    public void A_second_writer_and_a_payload_that_does_not_serialize_in_the_middle_of_a_batch_fail_only_their_own_writes()
    {
        var (ok, stale, bad, alsoOk) = (NewPid(), NewPid(), NewPid(), NewPid());
        Write(stale, 1, 2);
        var probes = Enumerable.Range(0, 6).Select(_ => CreateTestProbe()).ToArray();
        var calls = ScriptCalls();
        PauseRedis(500, "WRITE");
        // Two fillers take the two flushes that leave at once; the four under test then go out in one script call.
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(NewPid(), 1))], probes[4].Ref, 1));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(NewPid(), 1))], probes[5].Ref, 1));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(ok, 1))], probes[0].Ref, 1));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(stale, 2, "stale", "another-writer"))], probes[1].Ref, 1));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(bad, 1, new NotSerializable("x")))], probes[2].Ref, 1));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(alsoOk, 1))], probes[3].Ref, 1));

        probes[0].ExpectMsg<WriteMessagesSuccessful>(Wait);
        probes[0].ExpectMsg<WriteMessageSuccess>(Wait);
        Assert.IsType<ConcurrentWriterException>(probes[1].ExpectMsg<WriteMessagesFailed>(Wait).Cause);
        Assert.Contains("another writer", probes[1].ExpectMsg<WriteMessageFailure>(Wait).Cause.Message);
        probes[2].ExpectMsg<WriteMessagesSuccessful>(Wait);
        probes[2].ExpectMsg<WriteMessageRejected>(Wait);
        probes[3].ExpectMsg<WriteMessagesSuccessful>(Wait);
        probes[3].ExpectMsg<WriteMessageSuccess>(Wait);
        Assert.InRange(ScriptCalls() - calls, 1, 3);

        Assert.Equal(["event-1"], Replay(ok).Payloads);
        Assert.Equal(["event-1", "event-2"], Replay(stale).Payloads);
        Assert.Equal(0, Replay(bad).Highest);
        Assert.Equal(["event-1"], Replay(alsoOk).Payloads);
    }

    [Fact]
    public void Replays_of_many_actors_arriving_together_are_answered_by_one_script_call()
    {
        var existing = Enumerable.Range(0, 20).Select(_ => NewPid()).ToArray();
        foreach (var pid in existing)
            Write(pid, 1, 2);
        var fresh = Enumerable.Range(0, 20).Select(_ => NewPid()).ToArray();
        var replays = existing.Concat(fresh).Select(pid => (Pid: pid, Probe: CreateTestProbe())).ToArray();
        var calls = ScriptCalls();
        PauseRedis(500, "ALL");
        foreach (var (pid, probe) in replays)
            Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, pid, probe.Ref));
        foreach (var (pid, probe) in replays)
        {
            if (existing.Contains(pid))
            {
                Assert.Equal("event-1", probe.ExpectMsg<ReplayedMessage>(Wait).Persistent.Payload);
                Assert.Equal("event-2", probe.ExpectMsg<ReplayedMessage>(Wait).Persistent.Payload);
                Assert.Equal(2, probe.ExpectMsg<RecoverySuccess>(Wait).HighestSequenceNr);
            }
            else
            {
                Assert.Equal(0, probe.ExpectMsg<RecoverySuccess>(Wait).HighestSequenceNr);
            }
        }
        // Each replay is its highest sequence number and first page from the same script call: no second round trip.
        Assert.InRange(ScriptCalls() - calls, 1, 3);
    }

    [Fact]
    public void Index_operations_are_applied_in_the_same_atomic_write_as_their_event_and_not_at_all_when_it_is_refused()
    {
        var pid = NewPid();
        var added = new Indexed(new Tagged("accepted", [_tag]),
            [IndexOperation.AddToSet(JournalIndexes.Pending("7"), pid), IndexOperation.AddToSortedSet(JournalIndexes.Expiry, pid, 1_700_000_000_000)]);
        Write(pid, 1, 1, _ => added);
        Assert.True(Db.SetContains(Keys.SetIndex(0, "pending:7"), pid));
        Assert.Equal(1_700_000_000_000, Db.SortedSetScore(Keys.SortedSetIndex(0, "expiry"), pid));

        // The wrapper is not stored: a replay and a tag query see the event itself.
        Assert.Equal(["accepted"], Replay(pid).Payloads);

        var stale = CreateTestProbe();
        var refused = new Indexed("stale", [IndexOperation.AddToSet(JournalIndexes.Pending("7"), "stale-writer"), IndexOperation.RemoveFromSet(JournalIndexes.Pending("7"), pid)]);
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(pid, 1, refused, "another-writer"))], stale.Ref, 1));
        stale.ExpectMsg<WriteMessagesFailed>(Wait);
        stale.ExpectMsg<WriteMessageFailure>(Wait);
        Assert.Equal([pid], Db.SetMembers(Keys.SetIndex(0, "pending:7")).Select(m => m.ToString()));

        Write(pid, 2, 2, _ => new Tagged(new Indexed("finished", [IndexOperation.RemoveFromSet(JournalIndexes.Pending("7"), pid),
            IndexOperation.RemoveFromSortedSet(JournalIndexes.Expiry, pid)]), [_tag]));
        Assert.False(Db.KeyExists(Keys.SetIndex(0, "pending:7")));
        Assert.Null(Db.SortedSetScore(Keys.SortedSetIndex(0, "expiry"), pid));
        Assert.Equal(["accepted", "finished"], Replay(pid).Payloads);
    }

    [Fact]
    public void An_index_operation_that_cannot_be_applied_rejects_only_its_own_write()
    {
        var pid = NewPid();
        var probe = CreateTestProbe();
        var invalid = new Indexed("x", [IndexOperation.AddToSet("pending:1", pid), IndexOperation.AddToSortedSet(JournalIndexes.Expiry, pid, double.NaN)]);
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(pid, 1)), new AtomicWrite(Event(pid, 2, invalid)), new AtomicWrite(Event(pid, 3))], probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>(Wait);
        probe.ExpectMsg<WriteMessageSuccess>(Wait);
        Assert.Contains("not a finite number", probe.ExpectMsg<WriteMessageRejected>(Wait).Cause.Message);
        probe.ExpectMsg<WriteMessageSuccess>(Wait);
        Assert.Equal(["event-1", "event-3"], Replay(pid).Payloads);
        Assert.False(Db.KeyExists(Keys.SetIndex(0, "pending:1")));
    }

    [Fact]
    public void A_purge_removes_every_key_of_its_ids_and_leaves_the_others()
    {
        var (gone, kept) = (NewPid(), NewPid());
        foreach (var pid in new[] { gone, kept })
        {
            Write(pid, 1, 3, i => new Indexed(Tagged(i), [IndexOperation.AddToSortedSet(JournalIndexes.Expiry, pid, 1)]));
            Snapshots.Tell(new SaveSnapshot(new SnapshotMetadata(pid, 3, DateTime.UtcNow), "state"), TestActor);
            ExpectMsg<SaveSnapshotSuccess>(Wait);
        }
        // Deleting every event leaves the highest in its own key: the purge must take that too.
        Journal.Tell(new DeleteMessagesTo(gone, 3, TestActor));
        ExpectMsg<DeleteMessagesSuccess>(Wait);
        Assert.True(Db.KeyExists(Keys.Highest(gone)));

        Journal.Tell(new PurgePersistenceIds([gone, "never-written"]));
        Assert.Equal([gone, "never-written"], ExpectMsg<PersistenceIdsPurged>(Wait).PersistenceIds);

        var keys = Server.Keys(pattern: _prefix + "*").Select(k => k.ToString()).ToArray();
        Assert.DoesNotContain(keys, k => k.Contains(gone, StringComparison.Ordinal));
        Assert.Contains(Keys.Events(kept).ToString(), keys);
        Assert.Contains(Keys.Snapshots(kept).ToString(), keys);
        Assert.Null(Db.SortedSetScore(Keys.PersistenceIds(0), gone));
        Assert.NotNull(Db.SortedSetScore(Keys.PersistenceIds(0), kept));
        Assert.Null(Db.SortedSetScore(Keys.SortedSetIndex(0, JournalIndexes.Expiry), gone));
        Assert.NotNull(Db.SortedSetScore(Keys.SortedSetIndex(0, JournalIndexes.Expiry), kept));
        Assert.Equal((0, 0L), Replay(gone) is var g ? (g.Payloads.Count, g.Highest) : default);
        Assert.Equal(3, Replay(kept).Payloads.Count);

        Journal.Tell(new PurgePersistenceIds([gone]));
        ExpectMsg<PersistenceIdsPurged>(Wait);
    }

    [Fact]
    public async Task Maintenance_trims_the_task_tag_stream_to_its_retention_however_many_entries_are_due()
    {
        // Three and a half times what one approximate XTRIM takes by default (10,000): a journal tagging 1,000 events a
        // second between maintenances of every 35 s. The newest 100 are younger than the retention and must stay.
        var stream = Keys.Tag(0, Jobs.Actors.Monitoring.TaskEventTagger.Tag);
        var old = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        var batch = Db.CreateBatch();
        var adds = Enumerable.Range(0, 35_000).Select(i => batch.ExecuteAsync("XADD", stream, $"{old}-{i + 1}", "p", "old", "s", i)).ToList();
        batch.Execute();
        await Task.WhenAll(adds);
        var young = DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeMilliseconds();
        for (var i = 0; i < 100; i++)
            Db.Execute("XADD", stream, $"{young}-{i + 1}", "p", "young", "s", i);

        var settings = Jobs.Actors.Retention.RetentionSettings.Create(Sys.Settings.Config) with { TagRetention = TimeSpan.FromMinutes(1) };
        var done = await new Jobs.Actors.Retention.RedisJournalRetention(Sys, settings).MaintainAsync(DateTimeOffset.UtcNow).WaitAsync(Wait);

        // Whole nodes only: at most one node of old entries (100, stream-node-max-entries) may be left before the young.
        var left = (long)Db.Execute("XLEN", stream);
        Assert.True(left is >= 100 and <= 200, $"{left} entries left ({done})");
        var first = (RedisResult[])Db.Execute("XRANGE", stream, $"{young}-0", "+")!;
        Assert.Equal(100, first.Length);
    }

    [Fact]
    public async Task Queries_across_a_purge_skip_the_purged_id_and_resume_from_an_offset_read_before_it()
    {
        var (gone, kept, later) = (NewPid(), NewPid(), NewPid());
        Write(gone, 1, 2, Tagged);
        Write(kept, 1, 2, Tagged);
        var before = (await All(Queries.CurrentEventsByTag(_tag, Offset.NoOffset())))[0];
        Assert.Equal(gone, before.PersistenceId);

        Journal.Tell(new PurgePersistenceIds([gone]));
        ExpectMsg<PersistenceIdsPurged>(Wait);
        Write(later, 1, 1, Tagged);

        var rest = await All(Queries.CurrentEventsByTag(_tag, before.Offset));
        Assert.Equal([(kept, 1L), (kept, 2L), (later, 1L)], rest.Select(e => (e.PersistenceId, e.SequenceNr)));
        Assert.Equal([kept, later], await All(Queries.CurrentPersistenceIds()));
        Assert.Empty(await All(Queries.CurrentEventsByPersistenceId(gone, 0, long.MaxValue)));

        // A purged id written again is a new id: it comes after every id that was there before.
        Write(gone, 1, 1);
        Assert.Equal([kept, later, gone], await All(Queries.CurrentPersistenceIds()));
    }

    [Fact]
    public async Task A_tag_entry_written_while_the_clock_is_behind_the_stream_still_gets_an_offset_to_resume_from()
    {
        // As if the clock had gone back: the stream's newest entry is a minute ahead, at the last sequence an offset can hold.
        var ahead = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds();
        Db.Execute("XADD", Keys.Tag(0, _tag), $"{ahead}-999999", "p", "no-such-id", "s", 1);
        var pid = NewPid();
        Write(pid, 1, 3, Tagged);
        var events = await All(Queries.CurrentEventsByTag(_tag, Offset.NoOffset()));
        Assert.Equal([1L, 2, 3], events.Select(e => e.SequenceNr));
        Assert.Equal((ahead + 1) * 1_000_000, ((Sequence)events[0].Offset).Value);
        var rest = await All(Queries.CurrentEventsByTag(_tag, events[0].Offset));
        Assert.Equal([2L, 3], rest.Select(e => e.SequenceNr));
    }

    [Fact]
    public void A_journal_of_the_first_layout_is_refused_with_the_reason_and_left_untouched()
    {
        Db.ListRightPush(_prefix + "idlog", "task-1");
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(NewPid(), 1))], probe.Ref, 1));
        Assert.Contains("first layout", probe.ExpectMsg<WriteMessagesFailed>(Wait).Cause.Message);
        probe.ExpectMsg<WriteMessageFailure>(Wait);
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, "task-1", probe.Ref));
        Assert.IsType<RedisLayoutException>(probe.ExpectMsg<ReplayMessagesFailure>(Wait).Cause);
        Assert.Equal([_prefix + "idlog"], Server.Keys(pattern: _prefix + "*").Select(k => k.ToString()));
    }

    [Fact]
    public void A_journal_written_with_another_partition_count_is_refused_with_the_reason()
    {
        Db.StringSet(Keys.Layout, "2 partitions=4");
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(NewPid(), 1))], probe.Ref, 1));
        Assert.Contains("partitions are fixed for the life of a journal", probe.ExpectMsg<WriteMessagesFailed>(Wait).Cause.Message);
    }

    [Fact]
    public void A_snapshot_that_does_not_deserialize_is_passed_over_by_its_timestamp_without_being_read()
    {
        var pid = NewPid();
        var start = new DateTime(2026, 12, 1, 12, 0, 0, DateTimeKind.Utc);
        for (var i = 1; i <= 3; i++)
        {
            Snapshots.Tell(new SaveSnapshot(new SnapshotMetadata(pid, i, start.AddMinutes(i)), $"state-{i}"), TestActor);
            ExpectMsg<SaveSnapshotSuccess>(Wait);
        }
        // The newest keeps its timestamp but its payload is garbage (as after an incompatible upgrade).
        var newest = (byte[])Db.SortedSetRangeByScore(Keys.Snapshots(pid), 3, 3)[0]!;
        Db.SortedSetRemoveRangeByScore(Keys.Snapshots(pid), 3, 3);
        Db.SortedSetAdd(Keys.Snapshots(pid), newest[..8].Concat(new byte[] { 0xFF, 0x00, 0x13 }).ToArray(), 3);

        Snapshots.Tell(new LoadSnapshot(pid, new SnapshotSelectionCriteria(long.MaxValue, start.AddMinutes(2.5)), long.MaxValue), TestActor);
        Assert.Equal("state-2", ExpectMsg<LoadSnapshotResult>(Wait).Snapshot!.Snapshot);

        Snapshots.Tell(new DeleteSnapshots(pid, new SnapshotSelectionCriteria(long.MaxValue, start.AddMinutes(3), 2, start.AddMinutes(2))), TestActor);
        ExpectMsg<DeleteSnapshotsSuccess>(Wait);
        Assert.Equal([1.0], Db.SortedSetRangeByScoreWithScores(Keys.Snapshots(pid)).Select(e => e.Score));
    }
}

/// <summary>Tag queries over a journal of 4 partitions: one offset carries a position per partition.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisPartitionedTagQuerySpec(RedisServer redis) : TestKit(PersistenceBackends.Redis(redis, partitions: 4))
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _tag = "tag-" + Guid.NewGuid().ToString("N")[..6];

    private RedisReadJournal Queries => PersistenceQuery.Get(Sys).ReadJournalFor<RedisReadJournal>(RedisReadJournal.Identifier);

    private async Task<IReadOnlyList<EventEnvelope>> All(Offset offset) =>
        await Queries.CurrentEventsByTag(_tag, offset).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer()).WaitAsync(Wait);

    [Fact]
    public async Task A_tag_query_over_every_partition_resumes_from_any_event_s_offset_with_exactly_the_events_not_yet_read()
    {
        var keys = new RedisKeys("unused:", 4);
        var pids = new List<string>();
        while (Enumerable.Range(0, 4).Any(p => pids.Count(id => keys.PartitionOf(id) == p) < 2))
        {
            var pid = "p-" + Guid.NewGuid().ToString("N")[..10];
            if (pids.Count(id => keys.PartitionOf(id) == keys.PartitionOf(pid)) < 2)
                pids.Add(pid);
        }
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        foreach (var seq in new[] { 1L, 2 })
        {
            foreach (var pid in pids)
            {
                journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(new Tagged($"{pid}-{seq}", [_tag]), seq, pid, string.Empty, false, ActorRefs.NoSender, "w"))], TestActor, 1));
                ExpectMsg<WriteMessagesSuccessful>(Wait);
                ExpectMsg<WriteMessageSuccess>(Wait);
            }
        }

        var events = await All(Offset.NoOffset());
        Assert.Equal(16, events.Count);
        Assert.All(pids, pid => Assert.Equal([1L, 2], events.Where(e => e.PersistenceId == pid).Select(e => e.SequenceNr)));
        foreach (var k in new[] { 0, 5, 11, 15 })
        {
            // Stored as text and read back, as a consumer keeps it. Across partitions the order is only roughly by commit
            // time (pages are merged as they come); each persistence id's events come in order.
            var offset = PartitionedOffset.Parse(events[k].Offset.ToString());
            var rest = await All(offset);
            Assert.Equal(events.Skip(k + 1).Select(e => (string)e.Event).Order(), rest.Select(e => (string)e.Event).Order());
            Assert.All(pids, pid => Assert.Equal(rest.Where(e => e.PersistenceId == pid).Select(e => e.SequenceNr).Order(),
                rest.Where(e => e.PersistenceId == pid).Select(e => e.SequenceNr)));
        }
        Assert.Throws<ArgumentException>(() => Queries.CurrentEventsByTag(_tag, Offset.Sequence(5)));
    }
}

/// <summary>The indexes written with events, read back across every partition of a 4-partition journal.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisJournalIndexesSpec(RedisServer redis) : TestKit(PersistenceBackends.Redis(redis, partitions: 4))
{
    [Fact]
    public async Task Index_members_written_from_every_partition_are_read_back_together()
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        var pids = Enumerable.Range(0, 20).Select(i => $"task-{i}-{Guid.NewGuid():N}").ToArray();
        for (var i = 0; i < pids.Length; i++)
        {
            var indexed = new Indexed($"event-{i}", [IndexOperation.AddToSet(JournalIndexes.Pending("3"), pids[i]),
                IndexOperation.AddToSortedSet(JournalIndexes.Expiry, pids[i], 1000 + i)]);
            journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(indexed, 1, pids[i], string.Empty, false, ActorRefs.NoSender, "w"))], TestActor, 1));
            ExpectMsg<WriteMessagesSuccessful>();
            ExpectMsg<WriteMessageSuccess>();
        }
        Assert.True(pids.Select(pid => new RedisKeys("unused:", 4).PartitionOf(pid)).Distinct().Count() > 1);

        var indexes = new RedisJournalIndexes(Sys);
        var pending = new List<string>();
        await foreach (var member in indexes.SetMembersAsync(JournalIndexes.Pending("3")))
            pending.Add(member);
        Assert.Equal(pids.Order(), pending.Order());
        var due = await indexes.SortedSetRangeAsync(JournalIndexes.Expiry, 1004, 3);
        Assert.Equal([(pids[0], 1000.0), (pids[1], 1001.0), (pids[2], 1002.0)], due);
    }
}
