namespace Jobs.Chaos.Faults;

/// <summary>One fault as drawn: what, against whom, for how long, and how long the cluster is left alone before it.</summary>
/// <param name="Targets">The nodes it strikes (a partition's minority side); empty for Redis and for the coordinator
/// host, which is found when the fault strikes.</param>
public sealed record FaultSpec(string Kind, IReadOnlyList<string> Targets, TimeSpan Duration, TimeSpan Gap)
{
    public override string ToString() =>
        $"{Kind}{(Targets.Count > 0 ? " " + string.Join("+", Targets) : "")} for {Duration.TotalSeconds:0.0}s after {Gap.TotalSeconds:0.0}s";
}

/// <summary>
/// The fault schedule, drawn from a seed: the same seed and kinds give the same faults in the same order. Faults come
/// one at a time: each strikes a healthy cluster (every node Up) after a gap, and the next waits until it is healthy
/// again. The seed node is never cut off: restarted while it cannot reach the api node (the other seed), it would form
/// a cluster of its own, which is what joining by seed nodes does (Akka's documented limit), not a fault of ours.
/// </summary>
public sealed class FaultPlan(int seed, IReadOnlyList<string> kinds)
{
    public const string KillWorker = "kill-worker";
    public const string KillCoordinatorHost = "kill-coordinator-host";
    public const string KillApi = "kill-api";
    public const string Freeze = "freeze";
    public const string RedisRestart = "redis-restart";
    public const string RedisPause = "redis-pause";
    public const string PartitionNode = "partition-node";
    public const string PartitionSplit = "partition-split";
    public const string IsolateNode = "isolate-node";

    public static readonly string[] All =
        [KillWorker, KillCoordinatorHost, KillApi, Freeze, RedisRestart, RedisPause, PartitionNode, PartitionSplit, IsolateNode];

    /// <summary>The faults that need network namespaces; on loopback a freeze stands in for each.</summary>
    public static readonly string[] NeedNamespaces = [PartitionNode, PartitionSplit, IsolateNode];

    private static readonly string[] Workers = ["w1", "w2", "w3"];
    private static readonly string[] Nodes = ["seed", "api", "w1", "w2", "w3"];
    private static readonly string[] CanBeCutOff = ["api", "w1", "w2", "w3"];

    private readonly Random _random = new(seed);

    public IReadOnlyList<string> Kinds { get; } = kinds.Count > 0 ? kinds : throw new ArgumentException("no fault kinds", nameof(kinds));

    public FaultSpec Next()
    {
        var kind = Kinds[_random.Next(Kinds.Count)];
        var gap = Seconds(3, 10);
        return kind switch
        {
            KillWorker => new FaultSpec(kind, [Pick(Workers)], TimeSpan.Zero, gap),
            KillCoordinatorHost => new FaultSpec(kind, [], TimeSpan.Zero, gap),
            KillApi => new FaultSpec(kind, ["api"], TimeSpan.Zero, gap),
            // Short ones look like a pause (GC, a slow disk); long ones are downed and come back as a new incarnation.
            Freeze => new FaultSpec(kind, [Pick(Nodes)], Seconds(2, 20), gap),
            RedisRestart => new FaultSpec(kind, [], Seconds(1, 3), gap),
            RedisPause => new FaultSpec(kind, [], Seconds(2, 10), gap),
            PartitionNode => new FaultSpec(kind, [Pick(CanBeCutOff)], Seconds(5, 25), gap),
            PartitionSplit => new FaultSpec(kind, PickTwo(CanBeCutOff), Seconds(5, 25), gap),
            IsolateNode => new FaultSpec(kind, [Pick(CanBeCutOff)], Seconds(5, 25), gap),
            _ => throw new ArgumentException($"unknown fault kind '{kind}'; known: {string.Join(", ", All)}"),
        };
    }

    private TimeSpan Seconds(double min, double max) => TimeSpan.FromSeconds(Math.Round(min + (max - min) * _random.NextDouble(), 1));

    private string Pick(string[] from) => from[_random.Next(from.Length)];

    private string[] PickTwo(string[] from)
    {
        var first = _random.Next(from.Length);
        var second = (first + 1 + _random.Next(from.Length - 1)) % from.Length;
        return [from[first], from[second]];
    }

    /// <summary>The kinds asked for, with the partitions replaced by freezes where namespaces are not available.</summary>
    public static IReadOnlyList<string> Effective(IEnumerable<string> asked, bool canPartition)
    {
        var kinds = asked.Select(k => All.Contains(k) ? k : throw new ArgumentException($"unknown fault kind '{k}'; known: {string.Join(", ", All)}"));
        return canPartition ? kinds.ToArray() : kinds.Select(k => NeedNamespaces.Contains(k) ? Freeze : k).ToArray();
    }
}
