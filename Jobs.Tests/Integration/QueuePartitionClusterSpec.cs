using System.Text.Json.Nodes;
using Jobs.Actors.Hosting;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// Queue partitions on a real multi-process cluster: a task runs beside its entity while that node has room, an idle
/// node borrows a busy node's backlog, and kill -9 of the node holding a backlog loses nothing it had accepted. Task
/// ids are chosen so that their entities live on a known node (their shard is hosted there).
/// </summary>
public sealed class QueuePartitionClusterSpec() : RedisClusterSpec(seeds: 1, workers: 2, "--concurrency", "2", "--prefetch", "2")
{
    private static readonly StableMessageExtractor Shards = new(100, _ => null);

    /// <summary>Every shard allocated (by tasks to all of them), then which worker node hosts each.</summary>
    private async Task<Dictionary<string, string>> WorkerOfShardAsync()
    {
        var warmUp = new List<string>();
        for (var shard = 0; shard < 100; shard++)
            warmUp.Add(await Cluster.SendAsync("tasks.add", new { args = new[] { 1, 1 }, task_id = IdIn(shard.ToString(), "warm-up") }));
        foreach (var id in warmUp)
            await Cluster.ResultAsync(id, Deadline);
        var (exit, output, error) = await CliSpec.JobsAsync($"127.0.0.1:{Cluster.ApiCmdPort}", "sharding", "shard-stats", "task", "--json");
        Assert.True(exit == 0, error);
        var workerOf = Cluster.WorkerAddresses.ToDictionary(w => w.Value, w => w.Key);
        return JsonNode.Parse(output)!.AsObject().ToDictionary(s => s.Key, s => workerOf[s.Value!["node"]!.GetValue<string>()]);
    }

    /// <summary>A fresh task id whose shard is <paramref name="shard"/>.</summary>
    private static string IdIn(string shard, string prefix)
    {
        while (true)
        {
            var id = $"{prefix}-{Guid.NewGuid():N}";
            if (Shards.ShardId(id) == shard)
                return id;
        }
    }

    /// <summary><paramref name="count"/> fresh task ids whose entities live on <paramref name="worker"/>.</summary>
    private static List<string> IdsOn(Dictionary<string, string> workerOfShard, string worker, int count, string prefix)
    {
        var shards = workerOfShard.Where(s => s.Value == worker).Select(s => s.Key).ToArray();
        Assert.NotEmpty(shards);
        return Enumerable.Range(0, count).Select(i => IdIn(shards[i % shards.Length], prefix)).ToList();
    }

    [Fact]
    public async Task A_task_runs_on_the_worker_of_the_node_that_holds_its_entity_while_that_node_has_room()
    {
        var workerOfShard = await WorkerOfShardAsync();
        foreach (var node in new[] { "w1", "w2" })
        {
            // One at a time: both workers idle at every enqueue, so only locality decides where a task runs.
            foreach (var id in IdsOn(workerOfShard, node, 15, $"local-{node}"))
            {
                await Cluster.SendAsync("tasks.add", new { args = new[] { 2, 3 }, task_id = id });
                Assert.Equal(5, (await Cluster.ResultAsync(id, Deadline))["result"]!.GetValue<int>());
                Assert.Equal(node, await Cluster.WorkerOfAsync(id));
            }
        }
    }

    [Fact]
    public async Task An_idle_node_s_worker_borrows_the_backlog_of_a_busy_node()
    {
        var workerOfShard = await WorkerOfShardAsync();
        // 16 one-second tasks, all of them w1's: more than its 2 slots and 2 prefetched can hold at once.
        var ids = IdsOn(workerOfShard, "w1", 16, "backlog");
        foreach (var id in ids)
            await Cluster.SendAsync("tasks.sleep", new { args = new[] { 1 }, task_id = id });
        var ranOn = new Dictionary<string, int>();
        foreach (var id in ids)
        {
            Assert.Equal("SUCCESS", (await Cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
            AssertSucceededOnce(id);
            var worker = await Cluster.WorkerOfAsync(id);
            ranOn[worker] = ranOn.GetValueOrDefault(worker) + 1;
        }
        Assert.True(ranOn.GetValueOrDefault("w2") >= 4, $"w2 ran {ranOn.GetValueOrDefault("w2")} of w1's 16 tasks (w1 {ranOn.GetValueOrDefault("w1")})");
        Assert.True(ranOn.GetValueOrDefault("w1") >= 4, $"w1 ran {ranOn.GetValueOrDefault("w1")} of its own 16 tasks");
    }

    [Fact]
    public async Task Kill_9_of_the_node_holding_a_queue_backlog_loses_none_of_its_tasks()
    {
        var workerOfShard = await WorkerOfShardAsync();
        // 30 two-second tasks of w1: w1 runs 2, prefetches 2, w2 borrows some; the rest wait in w1's partition.
        var ids = IdsOn(workerOfShard, "w1", 30, "crash");
        foreach (var id in ids)
            await Cluster.SendAsync("tasks.sleep", new { args = new[] { 2 }, task_id = id });
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var (_, info) = await Cluster.Api!.GetAsync($"api/task/info/{ids[0]}");
            if (info?["state"]?.GetValue<string>() is "STARTED" or "SUCCESS")
                break;
            Assert.True(DateTime.UtcNow < deadline, "the first task never started");
            await Task.Delay(100);
        }
        var (_, length) = await Cluster.Api!.GetAsync("api/queues/length");
        var waiting = length!["active_queues"]!.AsArray().Single(q => q!["name"]!.GetValue<string>() == "default")!["messages"]!.GetValue<int>();
        Assert.True(waiting >= 10, $"only {waiting} tasks waited in the queue when w1 was killed");

        await Cluster.Workers["w1"].KillAsync();

        foreach (var id in ids)
        {
            Assert.Equal("SUCCESS", (await Cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
            AssertSucceededOnce(id);
        }
    }
}
