using Akka.Actor;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Monitoring;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>
/// After its start a monitor sweeps the journal only when the live feed may have missed events: a publisher's first
/// batch or a batch number skipped; a complete feed brings no sweep before the backstop (an hour here).
/// </summary>
public sealed class TaskMonitorSweepTriggerSpec : TestKit
{
    private readonly string _dataDir;
    private readonly IActorRef _monitor;

    public TaskMonitorSweepTriggerSpec() : this(Path.Combine(Path.GetTempPath(), "jobs-sweep-trigger-" + Guid.NewGuid().ToString("N")[..12]))
    {
    }

    private TaskMonitorSweepTriggerSpec(string dataDir) : base(TaskMonitorSpec.MonitorConfig(dataDir, "jobs.monitor.journal-sweep-backstop = 1h"))
    {
        _dataDir = dataDir;
        _monitor = TaskMonitorSpec.StartMonitor(this);
    }

    [Fact]
    public async Task A_skipped_batch_or_a_new_publisher_brings_a_sweep_and_a_complete_feed_none()
    {
        // The first write creates the journal's tables; the publisher's first batch asks for sweeps, which record it.
        JournalWithoutPublishing("before-p1");
        _monitor.Tell(Batch("p1", 1));
        await Recorded("before-p1");
        // (Its reason is not asserted: a sweep of the start, before the tables existed, may have failed after it.)
        var settled = await Settled();

        // Batches 2 and 3 follow 1: nothing was lost, so nothing is swept. Absence can only be shown over a window: ten
        // of the monitor's checks (200 ms each) would each have swept before this change.
        JournalWithoutPublishing("quiet");
        _monitor.Tell(Batch("p1", 2));
        _monitor.Tell(Batch("p1", 3));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(settled.Ended, (await Status()).Ended);
        Assert.Empty((await Timeline("quiet")).Events);

        // Batch 5 after 3: one was lost, and the sweep brings what the journal holds.
        _monitor.Tell(Batch("p1", 5));
        await Recorded("quiet");
        Assert.Equal("1 batch(es) of p1 missed", (await Settled()).LastReason);

        // A publisher never seen before (a node that joined, a batcher started again) may have sent batches first.
        JournalWithoutPublishing("before-p2");
        _monitor.Tell(Batch("p2", 7));
        await Recorded("before-p2");
        Assert.Equal("the first events of p2", (await Settled()).LastReason);

        // A node's batcher started again names itself anew under the same address: the monitor follows only the new one.
        _monitor.Tell(Batch("akka.tcp://jobs@127.0.0.1:1/first", 1));
        Assert.Equal(3, (await Settled()).Publishers);
        _monitor.Tell(Batch("akka.tcp://jobs@127.0.0.1:1/again", 1));
        Assert.Equal(3, (await Settled()).Publishers);
    }

    private static TaskEventBatch Batch(string publisher, long number) => new([], publisher, number);

    private Task<SweepStatus> Status() => _monitor.Ask<SweepStatus>(GetSweepStatus.Instance, TimeSpan.FromSeconds(3));

    /// <summary>The monitor once no sweep runs and none is wanted.</summary>
    private async Task<SweepStatus> Settled()
    {
        SweepStatus? status = null;
        await AwaitAssertAsync(async () =>
        {
            status = await Status();
            Assert.False(status.Running);
            Assert.Equal(0, status.Wanted);
        }, TimeSpan.FromSeconds(20));
        return status!;
    }

    private Task<TaskTimeline> Timeline(string id) => _monitor.Ask<TaskTimeline>(new GetTaskTimeline(id), TimeSpan.FromSeconds(3));

    private Task Recorded(string id) => AwaitAssertAsync(async () =>
        Assert.Contains(EventTypes.TaskReceived, Assert.Single((await Timeline(id)).Events)), TimeSpan.FromSeconds(20));

    private void JournalWithoutPublishing(string id) => TaskMonitorSpec.JournalWithoutPublishing(this, id);

    protected override void AfterAll()
    {
        base.AfterAll();
        TaskMonitorSpec.DeleteQuietly(_dataDir);
    }
}
