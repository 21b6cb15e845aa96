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

    protected override void AfterAll()
    {
        Bodies.Dispose();
        base.AfterAll();
    }
}
