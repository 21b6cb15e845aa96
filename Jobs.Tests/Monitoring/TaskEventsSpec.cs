using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>A task entity publishes Celery's events, with their fields, once each change is journaled.</summary>
public sealed class TaskEventsSpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.loglevel = WARNING
        """);

    private static readonly TaskEntitySettings Settings = new(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5));
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{\"z\": 1}").RootElement.Clone();
    private static readonly JsonElement Four = JsonDocument.Parse("4").RootElement.Clone();

    private readonly TestProbe _queues;
    private readonly TestProbe _events;

    public TaskEventsSpec() : base(Config)
    {
        _queues = CreateTestProbe();
        _events = CreateTestProbe();
    }

    private IActorRef Entity(string id) => Sys.ActorOf(TaskEntity.Props(id, _queues.Ref, Settings, _events.Ref));

    private TaskEvent ExpectEvent(string type)
    {
        var publish = _events.ExpectMsg<Publish>();
        Assert.Equal(MonitoringTopics.Tasks, publish.Topic);
        var e = Assert.IsType<TaskEvent>(publish.Message);
        Assert.Equal(type, e.Type);
        return e;
    }

    private void Start(IActorRef entity, string id)
    {
        entity.Tell(new SubmitTask(id, "tasks.add", Args, Kwargs, "default"));
        ExpectMsg<TaskResult>();
        _queues.ExpectMsg<EnqueueTask>();
        entity.Tell(new MarkTaskStarted(id, 0, "w1", TestActor, DateTimeOffset.UtcNow));
    }

    [Fact]
    public void A_successful_task_emits_received_then_started_then_succeeded_with_celerys_fields()
    {
        var entity = Entity("e1");
        Start(entity, "e1");
        entity.Tell(new CompleteAttempt("e1", 0, AttemptOutcome.Succeeded, "w1", DateTimeOffset.UtcNow, 0.25, Four));

        var received = ExpectEvent(EventTypes.TaskReceived);
        Assert.Equal(("e1", "tasks.add", "RECEIVED", "default"), (received.Uuid, received.Name, received.State, received.Queue));
        Assert.Equal("[2, 2]", received.Args!.Value.GetRawText());
        Assert.Equal("{\"z\": 1}", received.Kwargs!.Value.GetRawText());

        var started = ExpectEvent(EventTypes.TaskStarted);
        Assert.Equal(("e1", "tasks.add", "STARTED", "w1", 0), (started.Uuid, started.Name, started.State, started.Hostname, started.Retries));
        Assert.True(started.Timestamp >= received.Timestamp);

        var succeeded = ExpectEvent(EventTypes.TaskSucceeded);
        Assert.Equal(("e1", "tasks.add", "SUCCESS", "w1"), (succeeded.Uuid, succeeded.Name, succeeded.State, succeeded.Hostname));
        Assert.Equal("4", succeeded.Result!.Value.GetRawText());
        Assert.Equal(0.25, succeeded.Runtime);
        Assert.Equal("[2, 2]", succeeded.Args!.Value.GetRawText());
        _events.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_retried_then_failed_task_carries_its_exception_traceback_and_retries()
    {
        var entity = Entity("e2");
        Start(entity, "e2");
        entity.Tell(new CompleteAttempt("e2", 0, AttemptOutcome.Retry, "w1", DateTimeOffset.UtcNow, 0.1,
            Error: new TaskError("IOException", "flaky", "trace 1"), RetryCountdown: 0));
        ExpectEvent(EventTypes.TaskReceived);
        ExpectEvent(EventTypes.TaskStarted);
        var retried = ExpectEvent(EventTypes.TaskRetried);
        Assert.Equal(("RETRY", 1, "IOException(\"flaky\")", "trace 1"), (retried.State, retried.Retries, retried.Exception, retried.Traceback));

        _queues.ExpectMsg<EnqueueTask>();
        entity.Tell(new MarkTaskStarted("e2", 1, "w2", TestActor, DateTimeOffset.UtcNow));
        Assert.Equal(1, ExpectEvent(EventTypes.TaskStarted).Retries);
        entity.Tell(new CompleteAttempt("e2", 1, AttemptOutcome.Failed, "w2", DateTimeOffset.UtcNow, 0.2,
            Error: new TaskError("ValueError", "bad", "trace 2")));
        var failed = ExpectEvent(EventTypes.TaskFailed);
        Assert.Equal(("FAILURE", "w2", "ValueError(\"bad\")", "trace 2", 1), (failed.State, failed.Hostname, failed.Exception, failed.Traceback, failed.Retries));
    }

    [Fact]
    public void A_revoked_task_emits_task_revoked_with_the_reason()
    {
        var entity = Entity("e3");
        entity.Tell(new SubmitTask("e3", "tasks.add", Args, Kwargs, "default"));
        ExpectMsg<TaskResult>();
        ExpectEvent(EventTypes.TaskReceived);
        entity.Tell(new RevokeTask("e3", Terminate: true));
        ExpectMsg<TaskResult>();
        var revoked = ExpectEvent(EventTypes.TaskRevoked);
        Assert.Equal(("REVOKED", RevocationReasons.Terminated), (revoked.State, revoked.Reason));
    }

    [Fact]
    public void A_repeated_submission_emits_nothing()
    {
        var entity = Entity("e4");
        entity.Tell(new SubmitTask("e4", "tasks.add", Args, Kwargs, "default"));
        ExpectMsg<TaskResult>();
        ExpectEvent(EventTypes.TaskReceived);
        entity.Tell(new SubmitTask("e4", "tasks.add", Args, Kwargs, "default"));
        ExpectMsg<TaskResult>();
        _events.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_worker_heartbeat_publishes_online_first_then_heartbeats_with_the_pools_figures()
    {
        // The pool answers every ask at once with its current figures: a test thread answering by hand could be later
        // than the heartbeat's ask timeout (its interval) on a loaded machine, and a late answer is lost.
        var stats = new WorkerStats("w1", 4, 2, ["default"], ["t1"], ["t2", "t3"], 5, 2, 1, 12.5);
        var pool = CreateTestProbe();
        pool.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is GetWorkerStats)
                sender.Tell(Volatile.Read(ref stats));
            return AutoPilot.KeepRunning;
        }));
        Sys.ActorOf(WorkerHeartbeatProps(pool.Ref));
        var online = Assert.IsType<WorkerEvent>(_events.ExpectMsg<Publish>(p => p.Topic == MonitoringTopics.Workers).Message);
        Assert.Equal((EventTypes.WorkerOnline, "w1", 1, 7L, 2, 4), (online.Type, online.Hostname, online.Active, online.Processed, online.Reserved, online.Concurrency));
        Assert.Equal(3, online.Loadavg.Count);
        Assert.Equal(0.2, online.Freq, 3);

        Volatile.Write(ref stats, new WorkerStats("w1", 4, 2, ["default"], [], [], 6, 2, 1, 12.7));
        var beat = Assert.IsType<WorkerEvent>(_events.FishForMessage<Publish>(p => ((WorkerEvent)p.Message).Processed == 8L).Message);
        Assert.Equal(EventTypes.WorkerHeartbeat, beat.Type);

        pool.SetAutoPilot(NoAutoPilot.Instance);
        Sys.Stop(pool.Ref);
        var offline = Assert.IsType<WorkerEvent>(_events.FishForMessage<Publish>(p => ((WorkerEvent)p.Message).Type == EventTypes.WorkerOffline).Message);
        Assert.Equal("w1", offline.Hostname);
    }

    private Props WorkerHeartbeatProps(IActorRef pool) => WorkerHeartbeat.Props(pool, _events.Ref, TimeSpan.FromMilliseconds(200), "akka.tcp://jobs@127.0.0.1:1");
}
