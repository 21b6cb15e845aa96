using System.Text.Json;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>The monitor actor in a one-node cluster: worker liveness from heartbeats, live events into index and streams.</summary>
public sealed class TaskMonitorSpec : TestKit
{
    private static readonly string DataDir = Path.Combine(Path.GetTempPath(), "jobs-monitor-" + Guid.NewGuid().ToString("N")[..12]);

    private readonly IActorRef _monitor;

    public TaskMonitorSpec() : base(JobsConfig.Load(ConfigurationFactory.ParseString($"""
        akka.loglevel = WARNING
        akka.loggers = ["Akka.TestKit.TestEventListener, Akka.TestKit"]
        akka.remote.dot-netty.tcp.port = 0
        jobs.persistence.sqlite.path = {JobsConfig.Quote(Path.Combine(DataDir, "jobs.db"))}
        jobs.monitor.offline-after = 1s
        jobs.monitor.batch-interval = 50ms
        """)))
    {
        Cluster.Get(Sys).Join(Cluster.Get(Sys).SelfAddress);
        var settings = JobsSettings.Create(Sys.Settings.Config).Monitoring;
        _monitor = Sys.ActorOf(TaskMonitor.Props(settings, "akka.persistence.query.journal.sql", new TaskMetrics()));
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

        var offline = subscriber.ExpectMsg<WorkerEvent>(TimeSpan.FromSeconds(5));
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

    protected override void AfterAll()
    {
        base.AfterAll();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
