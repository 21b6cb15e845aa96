using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Jobs.Actors.Hosting;
using Jobs.Actors.Queues;

namespace Jobs.Actors.Control;

/// <summary>Shards and entities per node, as the cluster's regions report them (for the CLI and the dashboard).</summary>
public static class ShardingView
{
    public static readonly IReadOnlyList<string> Types =
        [JobsNode.TaskTypeName, JobsNode.CanvasTypeName, JobsNode.BeatTypeName, JobsNode.BeatDirectoryTypeName];

    /// <summary>The key of a node's queue partitions in <see cref="ByNodeAsync"/> (queues are not sharded: each node holds its own).</summary>
    public const string QueueKey = "queue";

    public static IActorRef RegionOf(JobsNode node, string type) => type switch
    {
        JobsNode.TaskTypeName => node.Tasks,
        JobsNode.CanvasTypeName => node.Canvases,
        JobsNode.BeatTypeName => node.BeatEntries,
        JobsNode.BeatDirectoryTypeName => node.BeatDirectory,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, $"types: {string.Join(", ", Types)}"),
    };

    /// <summary><c>{address: {"shards": n, "entities": m}}</c> for one entity type, addresses in order.</summary>
    public static async Task<JsonObject> RegionStatsAsync(IActorRef region, TimeSpan timeout)
    {
        var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(timeout), timeout + TimeSpan.FromSeconds(1))
            .ConfigureAwait(false);
        return RegionStats(stats);
    }

    /// <summary><c>{address: {"shards": n, "entities": m}}</c>, addresses in order.</summary>
    public static JsonObject RegionStats(ClusterShardingStats stats)
    {
        var result = new JsonObject();
        foreach (var (address, regionStats) in stats.Regions.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal))
            result[address.ToString()] = new JsonObject { ["shards"] = regionStats.Stats.Count, ["entities"] = regionStats.Stats.Values.Sum() };
        return result;
    }

    /// <summary>
    /// <c>{address: {type: {"shards", "entities"}}}</c> for every entity type, and <c>"queue": {"partitions", "queues"}</c>
    /// for the queue partitions: what each node hosts.
    /// </summary>
    public static async Task<JsonObject> ByNodeAsync(JobsNode node, TimeSpan timeout)
    {
        var partitions = node.Queues.Ask<QueuePartitions>(GetQueuePartitions.Instance, timeout + TimeSpan.FromSeconds(1));
        var perType = await Task.WhenAll(Types.Select(async t => (Type: t, Stats: await RegionStatsAsync(RegionOf(node, t), timeout).ConfigureAwait(false))))
            .ConfigureAwait(false);
        var result = new JsonObject();
        foreach (var (address, queues) in (await partitions.ConfigureAwait(false)).Nodes)
            result[address] = new JsonObject
            {
                [QueueKey] = new JsonObject { ["partitions"] = queues.Count, ["queues"] = new JsonArray(queues.Select(q => (JsonNode?)q).ToArray()) },
            };
        foreach (var (type, stats) in perType)
        {
            foreach (var (address, counts) in stats)
            {
                if (result[address] is not JsonObject forNode)
                    result[address] = forNode = new JsonObject();
                forNode[type] = counts!.DeepClone();
            }
        }
        return result;
    }
}
