using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Persistence.Redis.Query;
using Jobs.Tests.Infrastructure;
using Jobs.Tests.Persistence;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>
/// The monitor over a Redis journal of four partitions, whose tag offsets carry a position per partition
/// (<see cref="PartitionedOffset"/>): each sweep stores the offset it reached and the next resumes from it, whether it
/// lists the tag's entries or reads every event.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class TaskMonitorPartitionedSweepSpec : TestKit
{
    private const string CountingJournal = "jobs.test.counting-read-journal";
    private readonly string _dataDir;

    public TaskMonitorPartitionedSweepSpec(RedisServer redis) : this(redis, PersistenceBackends.NewPrefix(),
        Path.Combine(Path.GetTempPath(), "jobs-sweep-" + Guid.NewGuid().ToString("N")[..12]))
    {
    }

    private TaskMonitorPartitionedSweepSpec(RedisServer redis, string prefix, string dataDir)
        : base(TaskMonitorSweepSpec.SweepConfig(redis, prefix, dataDir, partitions: 4))
    {
        _dataDir = dataDir;
        Cluster.Get(Sys).Join(Cluster.Get(Sys).SelfAddress);
    }

    private CountingReadJournal Journal => PersistenceQuery.Get(Sys).ReadJournalFor<CountingReadJournal>(CountingJournal);

    [Fact]
    public Task Sweeps_listing_tag_entries_record_the_unpublished_tasks_and_resume_from_the_partitioned_offset() => SweepsResume(readsAll: false);

    [Fact]
    public Task Sweeps_reading_every_event_record_the_unpublished_tasks_and_resume_from_the_partitioned_offset() => SweepsResume(readsAll: true);

    private async Task SweepsResume(bool readsAll)
    {
        var settings = JobsSettings.Create(Sys.Settings.Config).Monitoring with { JournalSweepReadsAll = readsAll };
        var monitor = Sys.ActorOf(TaskMonitor.Props(settings, CountingJournal, new TaskMetrics()), "monitor");
        // The second four are journaled once sweeps have recorded the first four, so only a sweep resuming from a
        // stored offset brings them; eight ids fall in more than one partition.
        var ids = Enumerable.Range(1, 8).Select(i => $"partitioned-{i}").ToArray();
        foreach (var batch in ids.Chunk(4))
        {
            foreach (var id in batch)
                TaskMonitorSpec.JournalWithoutPublishing(this, id);
            await AwaitAssertAsync(async () =>
            {
                foreach (var id in batch)
                {
                    var timeline = await monitor.Ask<TaskTimeline>(new GetTaskTimeline(id), TimeSpan.FromSeconds(3));
                    Assert.Contains(EventTypes.TaskReceived, Assert.Single(timeline.Events));
                    Assert.Equal(("tasks.add", "RECEIVED"), (timeline.Task?.Name, timeline.Task?.State));
                }
            }, TimeSpan.FromSeconds(20));
        }

        var writer = Sys.ActorSelection(monitor.Path / "index-writer");
        var stored = await writer.Ask<IndexOffset>(new GetIndexOffset(TaskEventTagger.Tag), TimeSpan.FromSeconds(3));
        var offset = Assert.IsType<PartitionedOffset>(stored.Value);
        Assert.Equal(4, offset.Positions.Count);
        Assert.Contains(offset.Positions, position => position > 0);
        // Resumed past what they had recorded: no event was read from the journal twice.
        var read = Journal.Read;
        Assert.Equal(read.Count, read.Distinct().Count());
        Assert.All(ids, id => Assert.Contains(("task-" + id, 1L), read));
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        TaskMonitorSpec.DeleteQuietly(_dataDir);
    }
}
