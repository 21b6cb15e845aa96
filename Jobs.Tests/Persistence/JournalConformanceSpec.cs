using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>
/// What a journal must do, checked through the journal protocol itself (as Akka.Persistence's TCK does):
/// write and replay, ranges and max, deletes, the highest sequence number after deletes, atomic writes and
/// rejections. Every backend runs the same suite.
/// </summary>
public abstract class JournalConformanceSpec(Config config) : TestKit(PersistenceBackends.Setup(config))
{
    private readonly string _pid = "p-" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _writer = Guid.NewGuid().ToString();

    private IActorRef Journal => Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);

    private Persistent Event(long sequenceNr, object? payload = null) =>
        new(payload ?? $"event-{sequenceNr}", sequenceNr, _pid, string.Empty, false, ActorRefs.NoSender, _writer);

    private void Write(params AtomicWrite[] writes)
    {
        Journal.Tell(new WriteMessages(writes, TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        foreach (var _ in writes.SelectMany(w => (IImmutableList<IPersistentRepresentation>)w.Payload))
            ExpectMsg<WriteMessageSuccess>();
    }

    private void WriteEvents(int count) =>
        Write(Enumerable.Range(1, count).Select(i => new AtomicWrite(Event(i))).ToArray());

    private (IReadOnlyList<long> SequenceNrs, long Highest) Replay(long from, long to, long max = long.MaxValue)
    {
        Journal.Tell(new ReplayMessages(from, to, max, _pid, TestActor));
        var replayed = new List<long>();
        while (true)
        {
            var message = ExpectMsg<object>();
            switch (message)
            {
                case ReplayedMessage r:
                    Assert.Equal(_pid, r.Persistent.PersistenceId);
                    Assert.Equal($"event-{r.Persistent.SequenceNr}", r.Persistent.Payload);
                    replayed.Add(r.Persistent.SequenceNr);
                    break;
                case RecoverySuccess success:
                    return (replayed, success.HighestSequenceNr);
                default:
                    throw new Xunit.Sdk.XunitException($"unexpected {message}");
            }
        }
    }

    private void DeleteTo(long sequenceNr)
    {
        Journal.Tell(new DeleteMessagesTo(_pid, sequenceNr, TestActor));
        ExpectMsg<DeleteMessagesSuccess>();
    }

    [Fact]
    public void Written_events_replay_in_order_with_their_payloads()
    {
        WriteEvents(5);
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Equal([1L, 2, 3, 4, 5], replayed);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void Replay_honours_from_and_to()
    {
        WriteEvents(5);
        Assert.Equal([2L, 3, 4], Replay(2, 4).SequenceNrs);
    }

    [Fact]
    public void Replay_honours_max()
    {
        WriteEvents(5);
        Assert.Equal([1L, 2], Replay(1, long.MaxValue, max: 2).SequenceNrs);
        Assert.Empty(Replay(1, long.MaxValue, max: 0).SequenceNrs);
    }

    [Fact]
    public void Replay_from_beyond_the_end_yields_nothing()
    {
        // The highest sequence number is only a hint past fromSequenceNr (Akka.Persistence.Sql answers 0 here).
        WriteEvents(5);
        Assert.Empty(Replay(6, long.MaxValue).SequenceNrs);
        Assert.Empty(Replay(4, 3).SequenceNrs);
    }

    [Fact]
    public void An_unknown_persistence_id_has_no_events_and_highest_zero()
    {
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Empty(replayed);
        Assert.Equal(0, highest);
    }

    [Fact]
    public void Long_streams_replay_whole_across_pages()
    {
        WriteEvents(10);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), Replay(1, long.MaxValue).SequenceNrs);
    }

    [Fact]
    public void Deleted_events_are_not_replayed()
    {
        WriteEvents(5);
        DeleteTo(3);
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Equal([4L, 5], replayed);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void The_highest_sequence_nr_survives_deleting_every_event()
    {
        WriteEvents(5);
        DeleteTo(long.MaxValue);
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Empty(replayed);
        Assert.Equal(5, highest);
    }

    [Fact]
    public void An_atomic_write_of_several_events_is_stored_whole()
    {
        Write(new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(Event(1), Event(2), Event(3))));
        Assert.Equal([1L, 2, 3], Replay(1, long.MaxValue).SequenceNrs);
    }

    [Fact]
    public void A_write_that_does_not_serialize_is_rejected_alone()
    {
        var bad = new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(Event(2, new NotSerializable("x")), Event(3)));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(1)), bad, new AtomicWrite(Event(4))], TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        Assert.Equal(1, ExpectMsg<WriteMessageSuccess>().Persistent.SequenceNr);
        Assert.Equal(2, ExpectMsg<WriteMessageRejected>().Persistent.SequenceNr);
        Assert.Equal(3, ExpectMsg<WriteMessageRejected>().Persistent.SequenceNr);
        Assert.Equal(4, ExpectMsg<WriteMessageSuccess>().Persistent.SequenceNr);
        Assert.Equal([1L, 4], Replay(1, long.MaxValue).SequenceNrs);
    }

    [Fact]
    public void A_second_writer_of_a_sequence_number_already_written_fails_and_changes_nothing()
    {
        WriteEvents(2);
        var stale = new Persistent("stale", 2, _pid, string.Empty, false, ActorRefs.NoSender, "another-writer");
        Journal.Tell(new WriteMessages([new AtomicWrite(stale)], TestActor, 1));
        ExpectMsg<WriteMessagesFailed>();
        Assert.Equal(2, ExpectMsg<WriteMessageFailure>().Persistent.SequenceNr);
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Equal([1L, 2], replayed);
        Assert.Equal(2, highest);
    }

    [Fact]
    public void Concurrent_writers_each_get_their_own_answer()
    {
        var writers = Enumerable.Range(0, 50).Select(i => (Pid: $"{_pid}-w{i}", Probe: CreateTestProbe())).ToArray();
        foreach (var (pid, probe) in writers)
        {
            var events = ImmutableList.Create<IPersistentRepresentation>(
                new Persistent($"event-1", 1, pid, string.Empty, false, ActorRefs.NoSender, _writer),
                new Persistent($"event-2", 2, pid, string.Empty, false, ActorRefs.NoSender, _writer));
            Journal.Tell(new WriteMessages([new AtomicWrite(events)], probe.Ref, 7));
        }
        foreach (var (pid, probe) in writers)
        {
            probe.ExpectMsg<WriteMessagesSuccessful>();
            Assert.All(new[] { probe.ExpectMsg<WriteMessageSuccess>(), probe.ExpectMsg<WriteMessageSuccess>() }, success =>
            {
                Assert.Equal(pid, success.Persistent.PersistenceId);
                Assert.Equal(7, success.ActorInstanceId);
            });
        }
        Journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, writers[49].Pid, TestActor));
        Assert.Equal(1, ExpectMsg<ReplayedMessage>().Persistent.SequenceNr);
        Assert.Equal(2, ExpectMsg<ReplayedMessage>().Persistent.SequenceNr);
        Assert.Equal(2, ExpectMsg<RecoverySuccess>().HighestSequenceNr);
    }

    [Fact]
    public void Replay_finds_its_start_across_the_gap_a_rejected_write_leaves()
    {
        var bad = new AtomicWrite(ImmutableList.Create<IPersistentRepresentation>(Event(3, new NotSerializable("x")), Event(4)));
        Journal.Tell(new WriteMessages([new AtomicWrite(Event(1)), new AtomicWrite(Event(2)), bad, new AtomicWrite(Event(5)), new AtomicWrite(Event(6))], TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        for (var i = 0; i < 6; i++)
            ExpectMsg<object>();
        Assert.Equal([5L, 6], Replay(3, long.MaxValue).SequenceNrs);
        Assert.Equal([5L], Replay(4, 5).SequenceNrs);
        Assert.Equal([2L, 5], Replay(2, 5).SequenceNrs);
        DeleteTo(4);
        Assert.Equal([5L, 6], Replay(1, long.MaxValue).SequenceNrs);
    }

    [Fact]
    public void Writes_after_every_event_was_deleted_go_on_from_the_highest()
    {
        WriteEvents(3);
        DeleteTo(3);
        Write(new AtomicWrite(Event(4)), new AtomicWrite(Event(5)));
        var (replayed, highest) = Replay(1, long.MaxValue);
        Assert.Equal([4L, 5], replayed);
        Assert.Equal(5, highest);
    }
}
