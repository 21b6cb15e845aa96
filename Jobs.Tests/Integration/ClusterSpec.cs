using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>A running multi-process cluster: work spreads over the workers, queues route, heartbeats hold under load.</summary>
public sealed class ClusterSpec(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);
    private ClusterProcesses Cluster => fixture.Cluster;

    [Fact]
    public async Task A_thousand_tasks_spread_fairly_over_two_workers()
    {
        var ids = new List<string>();
        for (var i = 0; i < 1000; i++)
            ids.Add(await Cluster.SendAsync("tasks.add", new { args = new[] { i, i } }));
        var byWorker = new Dictionary<string, int>();
        for (var i = 0; i < ids.Count; i++)
        {
            var result = await Cluster.ResultAsync(ids[i], Deadline);
            Assert.Equal(2 * i, result["result"]!.GetValue<int>());
            var worker = await Cluster.WorkerOfAsync(ids[i]);
            byWorker[worker] = byWorker.GetValueOrDefault(worker) + 1;
        }
        Assert.Equal(["w1", "w2"], byWorker.Keys.Order());
        Assert.All(byWorker.Values, count => Assert.InRange(count, 250, 750));
    }

    [Fact]
    public async Task A_task_runs_on_the_node_that_hosts_its_entity_while_that_node_has_an_idle_slot()
    {
        // One at a time, so every worker is idle when a task is enqueued: no node has a reason to lend or borrow.
        var ranOn = new Dictionary<string, string>();
        for (var i = 0; i < 60; i++)
        {
            var id = await Cluster.SendAsync("tasks.add", new { args = new[] { i, i } });
            await Cluster.ResultAsync(id, Deadline);
            ranOn[id] = await Cluster.WorkerOfAsync(id);
        }
        var (exit, output, error) = await CliSpec.JobsAsync($"127.0.0.1:{Cluster.ApiCmdPort}", "sharding", "shard-stats", "task", "--json");
        Assert.True(exit == 0, error);
        var nodeOfShard = System.Text.Json.Nodes.JsonNode.Parse(output)!.AsObject().ToDictionary(s => s.Key, s => s.Value!["node"]!.GetValue<string>());
        var workerOf = Cluster.WorkerAddresses.Where(w => w.Key is "w1" or "w2").ToDictionary(w => w.Value, w => w.Key);
        var shards = new Jobs.Actors.Hosting.StableMessageExtractor(100, _ => null);
        // Tasks whose entity lives on a node consuming the default queue (another spec may have added one that does not).
        var placed = ranOn.Where(r => workerOf.ContainsKey(nodeOfShard.GetValueOrDefault(shards.ShardId(r.Key), ""))).ToArray();
        Assert.True(placed.Length >= 30, $"only {placed.Length} of the tasks have their entity on w1 or w2");
        var local = placed.Count(r => workerOf[nodeOfShard[shards.ShardId(r.Key)]] == r.Value);
        // A shard may move while the spec runs (a node joining); every other task ran beside its entity.
        Assert.True(local >= placed.Length - 3, $"{local} of {placed.Length} tasks ran on the node of their entity");
    }

    [Fact]
    public async Task A_task_for_a_queue_no_worker_serves_waits_and_runs_when_one_joins()
    {
        var id = await Cluster.SendAsync("tasks.mul", new { args = new[] { 6, 7 }, queue = "images" });
        var (status, waiting) = await Cluster.Api!.GetAsync($"api/task/result/{id}?timeout=2");
        Assert.Equal(408, status);
        Assert.Equal("RECEIVED", waiting!["state"]!.GetValue<string>());

        Cluster.Workers["w3"] = Cluster.StartWorker("w3", "--queues", "images");
        Assert.Equal(42, (await Cluster.ResultAsync(id, Deadline))["result"]!.GetValue<int>());
        Assert.Equal("w3", await Cluster.WorkerOfAsync(id));

        var other = await Cluster.SendAsync("tasks.mul", new { args = new[] { 2, 3 } });
        await Cluster.ResultAsync(other, Deadline);
        Assert.NotEqual("w3", await Cluster.WorkerOfAsync(other));
    }

    [Fact]
    public async Task Workers_saturated_with_cpu_bound_tasks_stay_up_and_reachable()
    {
        // Another spec may just have added a worker; start from a converged view of the cluster.
        await Cluster.WaitForMembersUpAsync(Cluster.Workers.Count + 2, TimeSpan.FromSeconds(60));
        var spins = new List<string>();
        for (var i = 0; i < 4; i++)
            spins.Add(await Cluster.SendAsync("tasks.spin", new { args = new[] { 30 } }));
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            // Every check must find every member Up and reachable within a few seconds (well inside the failure
            // detector's acceptable pause); the api node's answer itself may be slow on saturated cores.
            var members = await Cluster.WaitForMembersUpAsync(Cluster.Workers.Count + 2, TimeSpan.FromSeconds(5));
            Assert.All(members, m => Assert.True(m!["reachable"]!.GetValue<bool>()));
            await Task.Delay(1000);
        }
        foreach (var id in spins)
            Assert.Equal("SUCCESS", (await Cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
        var workers = new HashSet<string>();
        foreach (var id in spins)
            workers.Add(await Cluster.WorkerOfAsync(id));
        Assert.Equal(2, workers.Count);
    }

    [Fact]
    public async Task The_cli_asked_at_the_api_node_inspects_every_worker()
    {
        var (exit, stats, error) = await CliSpec.JobsAsync($"127.0.0.1:{Cluster.ApiCmdPort}", "tasks", "stats", "--json");
        Assert.True(exit == 0, error);
        var workers = System.Text.Json.Nodes.JsonNode.Parse(stats)!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains("w1", workers);
        Assert.Contains("w2", workers);

        var (_, members, _) = await CliSpec.JobsAsync($"127.0.0.1:{Cluster.ApiCmdPort}", "cluster", "show", "--json");
        Assert.Equal(Cluster.Workers.Count + 2, System.Text.Json.Nodes.JsonNode.Parse(members)!["members"]!.AsArray().Count);
    }
}
