using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>
/// The monitor actor in a one-node cluster: worker liveness from heartbeats, live events into index and streams, and
/// the journal swept for what was never published.
/// </summary>
public sealed class TaskMonitorSpec : TestKit
{
    private readonly string _dataDir;
    private readonly IActorRef _monitor;

    public TaskMonitorSpec() : this(Path.Combine(Path.GetTempPath(), "jobs-monitor-" + Guid.NewGuid().ToString("N")[..12]))
    {
    }

    /// <param name="dataDir">One per test: each test's actor system has its own journal and index files.</param>
    private TaskMonitorSpec(string dataDir) : base(MonitorConfig(dataDir, """
        akka.loggers = ["Akka.TestKit.TestEventListener, Akka.TestKit"]
        jobs.monitor.offline-after = 3s
        jobs.monitor.journal-sweep-backstop = 200ms
        """))
    {
        _dataDir = dataDir;
        _monitor = StartMonitor(this);
    }

    /// <summary>A one-node cluster on a SQLite journal in <paramref name="dataDir"/>, its monitor checking for sweeps every 200 ms.</summary>
    internal static Config MonitorConfig(string dataDir, string more) => JobsConfig.Load(ConfigurationFactory.ParseString($"""
        akka.loglevel = WARNING
        akka.remote.dot-netty.tcp.port = 0
        jobs.persistence.sqlite.path = {JobsConfig.Quote(Path.Combine(dataDir, "jobs.db"))}
        jobs.monitor.batch-interval = 50ms
        jobs.monitor.journal-sweep-interval = 200ms
        {more}
        """));

    /// <summary>Joins the kit's node to itself and starts a monitor on its SQLite journal.</summary>
    internal static IActorRef StartMonitor(TestKit kit)
    {
        Cluster.Get(kit.Sys).Join(Cluster.Get(kit.Sys).SelfAddress);
        var settings = JobsSettings.Create(kit.Sys.Settings.Config).Monitoring;
        return kit.Sys.ActorOf(TaskMonitor.Props(settings, "akka.persistence.query.journal.sql", new TaskMetrics()));
    }

    private static WorkerEvent Beat(string type, string hostname) => new(type, hostname, "akka.tcp://jobs@127.0.0.1:1",
        DateTimeOffset.UtcNow, 2, 0, [], 3, 3, 0, 0, 0, 2, 4, ["default"], [0.5, 0.4, 0.3], 10, "ActorJobs", "1.0.0", "Linux");

    private async Task<WorkerView> Worker(string hostname) =>
        (await _monitor.Ask<WorkerList>(GetWorkers.Instance, TimeSpan.FromSeconds(3))).Workers.Single(w => w.Last.Hostname == hostname);

    [Fact]
    public async Task A_worker_whose_heartbeats_stop_goes_offline_and_subscribers_are_told()
    {
        var subscriber = CreateTestProbe();
        _monitor.Tell(new SubscribeEvents(subscriber.Ref));
        _monitor.Tell(Beat(EventTypes.WorkerOnline, "w9"));
        Assert.Equal(EventTypes.WorkerOnline, subscriber.ExpectMsg<WorkerEvent>().Type);
        Assert.True((await Worker("w9")).Online);

        var offline = subscriber.ExpectMsg<WorkerEvent>(TimeSpan.FromSeconds(10));
        Assert.Equal((EventTypes.WorkerOffline, "w9"), (offline.Type, offline.Hostname));
        Assert.False((await Worker("w9")).Online);

        _monitor.Tell(Beat(EventTypes.WorkerHeartbeat, "w9"));
        subscriber.ExpectMsg<WorkerEvent>(e => e.Type == EventTypes.WorkerHeartbeat);
        Assert.True((await Worker("w9")).Online);
    }

    [Fact]
    public async Task Live_task_events_reach_the_subscribers_and_the_index()
    {
        var subscriber = CreateTestProbe();
        _monitor.Tell(new SubscribeEvents(subscriber.Ref));
        var args = JsonDocument.Parse("[6, 7]").RootElement.Clone();
        var result = JsonDocument.Parse("42").RootElement.Clone();
        _monitor.Tell(new TaskEvent(EventTypes.TaskReceived, "m1", "tasks.mul", "RECEIVED", DateTimeOffset.UtcNow, Args: args));
        _monitor.Tell(new TaskEvent(EventTypes.TaskSucceeded, "m1", "tasks.mul", "SUCCESS", DateTimeOffset.UtcNow, "w1", Result: result, Runtime: 0.01));
        Assert.Equal(EventTypes.TaskReceived, subscriber.ExpectMsg<TaskEvent>().Type);
        Assert.Equal(EventTypes.TaskSucceeded, subscriber.ExpectMsg<TaskEvent>().Type);

        await AwaitAssertAsync(async () =>
        {
            var page = await _monitor.Ask<TaskPage>(new GetTasks(TaskQuery.Parse(null, null, null, null, "tasks.mul", null, null, null, null)),
                TimeSpan.FromSeconds(3));
            var row = Assert.Single(page.Tasks);
            Assert.Equal(("m1", "SUCCESS", "42", "w1"), (row.Uuid, row.State, row.Result, row.Worker));
        }, TimeSpan.FromSeconds(10));
        var timeline = await _monitor.Ask<TaskTimeline>(new GetTaskTimeline("m1"), TimeSpan.FromSeconds(3));
        Assert.Equal(2, timeline.Events.Count);

        Sys.Stop(subscriber.Ref);
        await AwaitAssertAsync(async () =>
            Assert.Equal(0, (await _monitor.Ask<EventStreamCount>(GetEventStreamCount.Instance, TimeSpan.FromSeconds(3))).Count));
    }

    [Fact]
    public async Task Tasks_journaled_while_the_monitor_runs_but_never_published_reach_the_index_by_later_sweeps()
    {
        // The first task may be caught by the sweep at start; the second is journaled after a sweep has recorded the
        // first, so only a later sweep can bring it.
        foreach (var id in new[] { "unpublished-1", "unpublished-2" })
        {
            JournalWithoutPublishing(id);
            await AwaitAssertAsync(async () =>
            {
                var timeline = await _monitor.Ask<TaskTimeline>(new GetTaskTimeline(id), TimeSpan.FromSeconds(3));
                Assert.Contains(EventTypes.TaskReceived, Assert.Single(timeline.Events));
                Assert.Equal(("tasks.add", "RECEIVED"), (timeline.Task?.Name, timeline.Task?.State));
            }, TimeSpan.FromSeconds(20));
        }
    }

    private void JournalWithoutPublishing(string id) => JournalWithoutPublishing(this, id);

    /// <summary>A task entity with no event target journals its (tagged) events and publishes none, as if pub-sub lost them.</summary>
    internal static void JournalWithoutPublishing(TestKit kit, string id)
    {
        var queues = kit.CreateTestProbe();
        var entity = kit.Sys.ActorOf(TaskEntity.Props(id, queues.Ref, new TaskEntitySettings(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(5))));
        entity.Tell(new SubmitTask(id, "tasks.add", JsonSerializer.SerializeToElement(new[] { 1, 2 }), JsonSerializer.SerializeToElement(new { }), "default"),
            kit.TestActor);
        // The first write creates the SQLite journal's tables.
        kit.ExpectMsg<TaskResult>(r => r.State == TaskState.Received, TimeSpan.FromSeconds(20));
        queues.ExpectMsg<EnqueueTask>();
    }

    /// <summary>Each test's data directory goes with it; one still open elsewhere is left to the temp directory's cleaning.</summary>
    internal static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        DeleteQuietly(_dataDir);
    }
}
