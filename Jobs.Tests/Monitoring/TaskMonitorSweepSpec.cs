using System.Collections.Concurrent;
using System.Text.Json;
using Akka;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Akka.Persistence.Query;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Persistence;
using Jobs.Actors.Persistence.Redis.Query;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Jobs.Tests.Persistence;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>
/// The monitor over the Redis journal: its sweep lists the task tag's entries and reads from the journal only the
/// events the index lacks, so what the live feed delivered is not read again and what it missed still arrives.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class TaskMonitorSweepSpec : TestKit
{
    private const string CountingJournal = "jobs.test.counting-read-journal";
    private readonly string _dataDir;
    private readonly IActorRef _monitor;

    public TaskMonitorSweepSpec(RedisServer redis) : this(redis, PersistenceBackends.NewPrefix(),
        Path.Combine(Path.GetTempPath(), "jobs-sweep-" + Guid.NewGuid().ToString("N")[..12]))
    {
    }

    private TaskMonitorSweepSpec(RedisServer redis, string prefix, string dataDir) : base(SweepConfig(redis, prefix, dataDir, partitions: 1))
    {
        _dataDir = dataDir;
        Cluster.Get(Sys).Join(Cluster.Get(Sys).SelfAddress);
        var settings = JobsSettings.Create(Sys.Settings.Config).Monitoring;
        _monitor = Sys.ActorOf(TaskMonitor.Props(settings, CountingJournal, new TaskMetrics()));
    }

    /// <summary>A monitor sweeping every 200 ms (its backstop: whether or not the live feed missed anything) over a Redis journal of <paramref name="partitions"/>, read through a counting read journal.</summary>
    internal static Config SweepConfig(RedisServer redis, string prefix, string dataDir, int partitions) => JobsConfig.Load(ConfigurationFactory.ParseString($"""
        akka.loglevel = WARNING
        akka.remote.dot-netty.tcp.port = 0
        jobs.persistence.journal = redis
        jobs.monitor.index-path = {JobsConfig.Quote(Path.Combine(dataDir, "monitor.db"))}
        jobs.monitor.batch-interval = 50ms
        jobs.monitor.journal-sweep-interval = 200ms
        jobs.monitor.journal-sweep-backstop = 200ms
        jobs.monitor.journal-sweep-settle = 0s
        {CountingJournal} {"{"}
          class = "Jobs.Tests.Monitoring.CountingReadJournalProvider, Jobs.Tests"
          configuration-string = "{redis.ConnectionString}"
          key-prefix = "{prefix}"
          partitions = {partitions}
          replay-page-size = 3
          refresh-interval = 3s
        {"}"}
        """).WithFallback(PersistenceBackends.Redis(redis, prefix, partitions: partitions)));

    private CountingReadJournal Journal => PersistenceQuery.Get(Sys).ReadJournalFor<CountingReadJournal>(CountingJournal);

    [Fact]
    public async Task A_sweep_reads_from_the_journal_only_the_events_the_live_feed_did_not_deliver()
    {
        var args = JsonSerializer.SerializeToElement(new[] { 1, 2 });
        // The live feed brings "delivered"'s acceptance, numbered as its journal will number it, before it is journaled.
        _monitor.Tell(new TaskEvent(EventTypes.TaskReceived, "delivered", "tasks.add", "RECEIVED", DateTimeOffset.UtcNow, Args: args,
            JournalSequenceNr: 1));
        await AwaitAssertAsync(async () => Assert.Single((await Timeline("delivered")).Events), TimeSpan.FromSeconds(20));
        JournalWithoutPublishing("delivered");
        JournalWithoutPublishing("missed");

        await AwaitAssertAsync(async () =>
        {
            var timeline = await Timeline("missed");
            Assert.Contains(EventTypes.TaskReceived, Assert.Single(timeline.Events));
            Assert.Equal(("tasks.add", "RECEIVED"), (timeline.Task?.Name, timeline.Task?.State));
        }, TimeSpan.FromSeconds(20));
        Assert.Contains(("task-missed", 1L), Journal.Read);
        Assert.DoesNotContain(Journal.Read, read => read.PersistenceId == "task-delivered");
        Assert.Single((await Timeline("delivered")).Events);
    }

    private Task<TaskTimeline> Timeline(string id) => _monitor.Ask<TaskTimeline>(new GetTaskTimeline(id), TimeSpan.FromSeconds(3));

    private void JournalWithoutPublishing(string id) => TaskMonitorSpec.JournalWithoutPublishing(this, id);

    protected override void AfterAll()
    {
        base.AfterAll();
        TaskMonitorSpec.DeleteQuietly(_dataDir);
    }
}

/// <summary>The Redis read journal, noting every event it reads whole for a tag query (persistence id, sequence number).</summary>
public sealed class CountingReadJournal(RedisReadJournal journal) : ICurrentEventsByTagQuery, ICurrentTagEntriesQuery
{
    private readonly ConcurrentQueue<(string PersistenceId, long SequenceNr)> _read = new();

    public IReadOnlyList<(string PersistenceId, long SequenceNr)> Read => _read.ToArray();

    public Source<EventEnvelope, NotUsed> CurrentEventsByTag(string tag, Offset offset) =>
        journal.CurrentEventsByTag(tag, offset).Select(e =>
        {
            _read.Enqueue((e.PersistenceId, e.SequenceNr));
            return e;
        });

    public Source<TagEntry, NotUsed> CurrentTagEntries(string tag, Offset? offset, TimeSpan settle) => journal.CurrentTagEntries(tag, offset, settle);

    public async Task<IReadOnlyList<EventEnvelope>> EventsOfAsync(IReadOnlyList<TagEntry> entries)
    {
        var events = await journal.EventsOfAsync(entries);
        foreach (var e in events)
            _read.Enqueue((e.PersistenceId, e.SequenceNr));
        return events;
    }
}

public sealed class CountingReadJournalProvider(ExtendedActorSystem system, Config config) : IReadJournalProvider
{
    public IReadJournal GetReadJournal() => new CountingReadJournal(new RedisReadJournal(system, config));
}
