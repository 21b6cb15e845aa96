using Jobs.Chaos.Topology;

namespace Jobs.Chaos.Faults;

/// <summary>
/// One injected fault: when it struck, when it was undone (a partition healed, a node resumed, Redis back), and when the
/// cluster was whole again (every node Up), which ends the window the audit calls "during faults".
/// </summary>
public sealed record FaultRecord(string Kind, string Target, DateTimeOffset Start, DateTimeOffset Undone, DateTimeOffset? Healthy, string Detail);

/// <summary>Draws faults from the plan and strikes the cluster with them, one at a time, until told to stop.</summary>
public sealed class FaultInjector(ChaosCluster cluster, FaultPlan plan, Timeline timeline)
{
    /// <summary>A cluster that is not whole again after this long is noted, and the run goes on.</summary>
    private static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(90);

    private readonly List<FaultRecord> _faults = new();

    public IReadOnlyList<FaultRecord> Faults
    {
        get
        {
            lock (_faults)
                return _faults.ToArray();
        }
    }

    /// <summary>Faults until <paramref name="stop"/>; a fault under way is undone at once when it comes.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var fault = plan.Next();
            if (!await WaitAsync(fault.Gap, stop))
                return;
            if (!await cluster.HealthyAsync())
            {
                timeline.Note("faults", "the cluster is not whole yet; the next fault waits");
                continue;
            }
            var record = await StrikeAsync(fault, stop);
            var healthy = await WhenHealthyAsync();
            if (healthy is null)
                timeline.Note("faults", $"the cluster was not whole {RecoveryLimit.TotalSeconds:0} s after {record.Kind} {record.Target}");
            else
                timeline.Note("faults", $"whole again {(healthy.Value - record.Undone).TotalSeconds:0.0} s after {record.Kind} {record.Target} was undone");
            lock (_faults)
                _faults.Add(record with { Healthy = healthy });
        }
    }

    private async Task<FaultRecord> StrikeAsync(FaultSpec fault, CancellationToken stop)
    {
        var start = DateTimeOffset.UtcNow;
        var target = string.Join("+", fault.Targets);
        var detail = fault.ToString();
        switch (fault.Kind)
        {
            case FaultPlan.KillWorker:
            case FaultPlan.KillApi:
                timeline.Note("faults", $"kill -9 {target}");
                Node(target).Kill();
                break;
            case FaultPlan.KillCoordinatorHost:
                var oldest = cluster.OldestWorker();
                target = oldest?.Name ?? "none";
                timeline.Note("faults", $"kill -9 {target}, the oldest worker (shard coordinators)");
                oldest?.Kill();
                break;
            case FaultPlan.Freeze:
                timeline.Note("faults", $"SIGSTOP {target} for {fault.Duration.TotalSeconds:0.0} s");
                Node(target).Freeze();
                await WaitAsync(fault.Duration, stop);
                Node(target).Resume();
                timeline.Note("faults", $"SIGCONT {target}");
                break;
            case FaultPlan.RedisRestart:
                timeline.Note("faults", $"kill -9 redis, started again after {fault.Duration.TotalSeconds:0.0} s");
                await cluster.Redis.KillAsync();
                await WaitAsync(fault.Duration, stop);
                await cluster.Redis.StartAsync();
                timeline.Note("faults", "redis answers again");
                break;
            case FaultPlan.RedisPause:
                timeline.Note("faults", $"CLIENT PAUSE {fault.Duration.TotalMilliseconds:0} ALL");
                await cluster.Redis.PauseAsync(fault.Duration);
                await WaitAsync(fault.Duration, stop);
                break;
            case FaultPlan.PartitionNode:
            case FaultPlan.PartitionSplit:
                var side = fault.Targets;
                var other = cluster.Nodes.Select(n => n.Name).Except(side).ToArray();
                timeline.Note("faults", $"partition {string.Join(",", side)} | {string.Join(",", other)} for {fault.Duration.TotalSeconds:0.0} s");
                cluster.Network.Cut(side, other);
                await WaitAsync(fault.Duration, stop);
                cluster.Network.HealAll();
                timeline.Note("faults", "partition healed");
                break;
            case FaultPlan.IsolateNode:
                timeline.Note("faults", $"link of {target} down for {fault.Duration.TotalSeconds:0.0} s");
                cluster.Network.Isolate(target);
                await WaitAsync(fault.Duration, stop);
                cluster.Network.HealAll();
                timeline.Note("faults", $"link of {target} up");
                break;
            default:
                throw new ArgumentException($"unknown fault kind '{fault.Kind}'");
        }
        return new FaultRecord(fault.Kind, target, start, DateTimeOffset.UtcNow, null, detail);
    }

    private ClusterNode Node(string name) => cluster.Nodes.Single(n => n.Name == name);

    private async Task<DateTimeOffset?> WhenHealthyAsync()
    {
        var deadline = DateTimeOffset.UtcNow + RecoveryLimit;
        // A killed node is noticed only after a moment: a healthy view right after the kill is the one before it.
        await Task.Delay(1000);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await cluster.HealthyAsync())
                return DateTimeOffset.UtcNow;
            await Task.Delay(250);
        }
        return null;
    }

    /// <summary>False when stopped meanwhile; the fault under way is then undone at once.</summary>
    private static async Task<bool> WaitAsync(TimeSpan duration, CancellationToken stop)
    {
        try
        {
            await Task.Delay(duration, stop);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
