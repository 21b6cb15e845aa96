using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;
using Xunit;

namespace Jobs.Tests.Workers;

/// <summary>
/// The whole work-pulling path (task entity, queue, worker) with one message dropped on the way, as remoting drops it
/// while an address is gated or when a frame is too large: no DeathWatch fires, and the task must finish anyway.
/// </summary>
public sealed class LostMessagesSpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.loglevel = WARNING
        """);

    private static readonly JsonElement Args = JsonDocument.Parse("[20, 22]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{}").RootElement.Clone();
    private readonly BodyScheduler _bodies = new(2, "lost-body");

    public LostMessagesSpec() : base(Config)
    {
    }

    protected override void AfterAll()
    {
        _bodies.Dispose();
        base.AfterAll();
    }

    /// <summary>An entity, its queue and a worker whose messages to each pass through relays that may drop one.</summary>
    private IActorRef Start(string taskId, Func<object, bool>? dropToWorker = null, Func<object, bool>? dropToEntity = null,
        TimeSpan? reconcileInterval = null) =>
        StartAll([taskId], dropToWorker, dropToEntity, reconcileInterval)[0];

    private IActorRef[] StartAll(string[] taskIds, Func<object, bool>? dropToWorker = null, Func<object, bool>? dropToEntity = null,
        TimeSpan? reconcileInterval = null)
    {
        var queue = Sys.ActorOf(QueueActor.Props("default"));
        var entities = taskIds.ToDictionary(id => id, id => Sys.ActorOf(TaskEntity.Props(id, queue,
            new TaskEntitySettings(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5))
            {
                AttemptCheckInterval = TimeSpan.FromMilliseconds(500),
            })));
        var toEntity = Sys.ActorOf(Props.Create(() => new DroppingRelay(m => entities[((ITaskCommand)m).TaskId], dropToEntity ?? (_ => false), false)));
        var toQueue = Sys.ActorOf(Props.Create(() => new DroppingRelay(_ => queue, dropToWorker ?? (_ => false), true)));
        var registry = TaskRegistry.FromTypes([typeof(Jobs.Node.Tasks)]);
        Sys.ActorOf(WorkerPool.Props(registry, new WorkerSettings("worker@test", 1, 1, ["default"])
        {
            ReconcileInterval = reconcileInterval ?? TimeSpan.FromMilliseconds(300),
        }, toEntity, toQueue, _bodies));
        return taskIds.Select(id =>
        {
            entities[id].Tell(new SubmitTask(id, "tasks.add", Args, Kwargs, "default"));
            Assert.Equal(TaskState.Received, ExpectMsg<TaskResult>().State);
            return entities[id];
        }).ToArray();
    }

    private TaskResult ResultOf(IActorRef entity)
    {
        entity.Tell(new AwaitTaskResult("any"));
        return ExpectMsg<TaskResult>(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_task_whose_batch_never_reached_the_worker_still_runs()
    {
        var dropped = 0;
        var entity = Start("lost-batch", dropToWorker: m => m is RunTasks && Interlocked.Increment(ref dropped) == 1);
        var result = ResultOf(entity);
        Assert.Equal((TaskState.Success, 42), (result.State, result.Result!.Value.GetInt32()));
        Assert.Equal(2, Volatile.Read(ref dropped));
    }

    [Fact]
    public void A_task_whose_report_was_lost_is_finished_by_the_report_sent_again()
    {
        var dropped = 0;
        var entity = Start("lost-report", dropToEntity: m => m is CompleteAttempt && Interlocked.Increment(ref dropped) == 1);
        var result = ResultOf(entity);
        Assert.Equal((TaskState.Success, 42), (result.State, result.Result!.Value.GetInt32()));
    }

    [Fact]
    public void A_task_whose_report_was_lost_is_finished_within_the_watchdog_period_of_its_entity()
    {
        var dropped = 0;
        // The worker would resend only in an hour: the entity's check of its started attempt is what brings the report.
        var entity = Start("lost-report-watched", dropToEntity: m => m is CompleteAttempt && Interlocked.Increment(ref dropped) == 1,
            reconcileInterval: TimeSpan.FromHours(1));
        var result = ResultOf(entity);
        Assert.Equal((TaskState.Success, 42), (result.State, result.Result!.Value.GetInt32()));
    }

    [Fact]
    public void A_worker_whose_requests_for_more_were_lost_is_given_work_again()
    {
        // Its first request registers it; every later one (finished leases and new demand) is lost, as while gated.
        var requests = 0;
        var entities = StartAll(["first", "second", "third"], dropToWorker: m => m is RequestTasks && Interlocked.Increment(ref requests) > 1);
        foreach (var entity in entities)
            Assert.Equal(TaskState.Success, ResultOf(entity).State);
        Assert.True(Volatile.Read(ref requests) > 1, "the worker asked for more and was not heard");
    }

    /// <summary>
    /// Stands between the worker and its targets. Towards entities it forwards as is; towards a queue it is the queue's
    /// consumer, so what the queue sends the worker passes through it too (with the queue as sender).
    /// </summary>
    private sealed class DroppingRelay : ReceiveActor
    {
        public DroppingRelay(Func<object, IActorRef> target, Func<object, bool> drop, bool consumer)
        {
            IActorRef? worker = null;
            ReceiveAny(message =>
            {
                var to = target(message);
                if (consumer && Sender.Equals(to))
                {
                    if (!drop(message))
                        worker?.Forward(message);
                    return;
                }
                worker = Sender;
                if (drop(message))
                    return;
                if (consumer)
                    to.Tell(message, Self);
                else
                    to.Forward(message);
            });
        }
    }
}
