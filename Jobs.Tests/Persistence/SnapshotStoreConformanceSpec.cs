using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>What a snapshot store must do: save, load by criteria, delete one, delete by criteria.</summary>
public abstract class SnapshotStoreConformanceSpec(Config config) : TestKit(PersistenceBackends.Setup(config))
{
    private static readonly DateTime Start = new(2026, 11, 24, 12, 0, 0, DateTimeKind.Utc);
    private readonly string _pid = "s-" + Guid.NewGuid().ToString("N")[..10];

    private IActorRef Store => Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);

    private SnapshotMetadata Metadata(long sequenceNr) => new(_pid, sequenceNr, Start.AddMinutes(sequenceNr));

    private void SaveFive()
    {
        for (var i = 1; i <= 5; i++)
        {
            Store.Tell(new SaveSnapshot(Metadata(i), $"state-{i}"), TestActor);
            ExpectMsg<SaveSnapshotSuccess>();
        }
    }

    private SelectedSnapshot? Load(SnapshotSelectionCriteria criteria)
    {
        Store.Tell(new LoadSnapshot(_pid, criteria, long.MaxValue), TestActor);
        return ExpectMsg<LoadSnapshotResult>().Snapshot;
    }

    [Fact]
    public void The_latest_snapshot_is_loaded()
    {
        SaveFive();
        var loaded = Load(SnapshotSelectionCriteria.Latest)!;
        Assert.Equal(5, loaded.Metadata.SequenceNr);
        Assert.Equal("state-5", loaded.Snapshot);
        Assert.Equal(Start.AddMinutes(5), loaded.Metadata.Timestamp.ToUniversalTime());
    }

    [Fact]
    public void A_snapshot_is_loaded_by_max_sequence_nr_and_max_timestamp()
    {
        SaveFive();
        Assert.Equal(3, Load(new SnapshotSelectionCriteria(3))!.Metadata.SequenceNr);
        Assert.Equal(2, Load(new SnapshotSelectionCriteria(long.MaxValue, Start.AddMinutes(2)))!.Metadata.SequenceNr);
        Assert.Null(Load(new SnapshotSelectionCriteria(long.MaxValue, Start)));
    }

    [Fact]
    public void An_unknown_persistence_id_has_no_snapshot()
    {
        Assert.Null(Load(SnapshotSelectionCriteria.Latest));
    }

    [Fact]
    public void One_snapshot_is_deleted_by_its_metadata()
    {
        SaveFive();
        Store.Tell(new DeleteSnapshot(Metadata(5)), TestActor);
        ExpectMsg<DeleteSnapshotSuccess>();
        Assert.Equal(4, Load(SnapshotSelectionCriteria.Latest)!.Metadata.SequenceNr);
    }

    [Fact]
    public void Snapshots_are_deleted_by_criteria()
    {
        SaveFive();
        Store.Tell(new DeleteSnapshots(_pid, new SnapshotSelectionCriteria(3)), TestActor);
        ExpectMsg<DeleteSnapshotsSuccess>();
        Assert.Null(Load(new SnapshotSelectionCriteria(3)));
        Assert.Equal(5, Load(SnapshotSelectionCriteria.Latest)!.Metadata.SequenceNr);
    }

    [Fact]
    public void Saving_at_the_same_sequence_nr_replaces_the_snapshot()
    {
        Store.Tell(new SaveSnapshot(Metadata(1), "first"), TestActor);
        ExpectMsg<SaveSnapshotSuccess>();
        Store.Tell(new SaveSnapshot(Metadata(1), "second"), TestActor);
        ExpectMsg<SaveSnapshotSuccess>();
        Assert.Equal("second", Load(SnapshotSelectionCriteria.Latest)!.Snapshot);
    }
}
