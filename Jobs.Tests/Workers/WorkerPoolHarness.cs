using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;

namespace Jobs.Tests.Workers;

/// <summary>A worker pool under test: probes stand in for the task and queue shard regions; bodies run on real threads.</summary>
public abstract class WorkerPoolHarness : TestKit
{
    protected WorkerPoolHarness(int bodyThreads) : base("akka.loglevel = WARNING")
    {
        Bodies = new BodyScheduler(bodyThreads, "task-body");
        TaskProbe = CreateTestProbe();
        QueueProbe = CreateTestProbe();
    }

    protected TestProbe TaskProbe { get; }
    protected TestProbe QueueProbe { get; }
    protected BodyScheduler Bodies { get; }
    protected TaskRegistry Registry { get; } = TaskRegistry.FromTypes([typeof(GateTasks), typeof(Jobs.Node.Tasks)]);

    /// <summary>
    /// The periodic sync and resend are an hour apart unless a spec is about them, so the probes see only what a spec
    /// provokes.
    /// </summary>
    protected static WorkerSettings Settings(int concurrency, int prefetch, params string[] queues) =>
        new("worker@test", concurrency, prefetch, queues.Length == 0 ? ["default"] : queues) { ReconcileInterval = TimeSpan.FromHours(1) };

    protected override void AfterAll()
    {
        Bodies.Dispose();
        base.AfterAll();
    }
}
