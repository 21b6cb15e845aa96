using System.Diagnostics;
using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// The monitor of an api node (no shards, Redis journal) sees the workers of a multi-process cluster through their
/// heartbeats and the tasks they run through events and the journal, and shows a killed worker offline.
/// </summary>
public sealed class MonitoringClusterSpec(ClusterFixture fixture) : IClassFixture<ClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private ClusterProcesses Cluster => fixture.Cluster;

    private async Task<JsonNode> EventuallyAsync(string path, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow + Deadline;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (status, body) = await Cluster.Api!.GetAsync(path);
            last = body;
            if (status == 200 && done(body!))
                return body!;
            await Task.Delay(200);
        }
        throw new TimeoutException($"GET {path} did not satisfy the condition within {Deadline}; last: {last}");
    }

    [Fact]
    public async Task The_api_node_lists_the_workers_and_their_tasks_and_shows_a_killed_worker_offline()
    {
        await EventuallyAsync("api/workers?status=true", b => b["w1"]?.GetValue<bool>() == true && b["w2"]?.GetValue<bool>() == true);

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
            ids.Add(await Cluster.SendAsync("tasks.add", new { args = new[] { i, i } }));
        foreach (var id in ids)
            await Cluster.ResultAsync(id, Deadline);
        var tasks = await EventuallyAsync("api/tasks?taskname=tasks.add&state=SUCCESS&limit=100",
            b => ids.All(id => b[id]?["state"]?.GetValue<string>() == "SUCCESS"));
        Assert.All(ids, id => Assert.Contains(tasks[id]!["worker"]!.GetValue<string>(), new[] { "w1", "w2" }));
        Assert.Equal(10, tasks[ids[5]]!["result"]!.GetValue<int>());
        // The journal sweep may record the journaled events before the live feed brings task-sent and task-started.
        var events = await EventuallyAsync($"api/task/events/{ids[0]}", b => b.AsArray().Count == 4);
        Assert.Equal(["task-sent", "task-received", "task-started", "task-succeeded"], events.AsArray().Select(e => e!["type"]!.GetValue<string>()));

        // The next heartbeats carry what the workers processed.
        var workers = await EventuallyAsync("api/workers",
            b => b["w1"]!["processed"]!.GetValue<long>() + b["w2"]!["processed"]!.GetValue<long>() >= ids.Count);
        Assert.Equal(2, workers["w1"]!["concurrency"]!.GetValue<int>());
        Assert.Equal("default", workers["w2"]!["active_queues"]![0]!["name"]!.GetValue<string>());
        using (var metrics = await Cluster.Api!.Http!.GetAsync("metrics"))
        {
            var text = await metrics.Content.ReadAsStringAsync();
            Assert.Contains("jobs_workers_online 2", text);
            Assert.Contains("jobs_cluster_members{status=\"Up\"} 4", text);
        }

        var killed = Stopwatch.StartNew();
        await Cluster.Workers["w2"].KillAsync();
        await EventuallyAsync("api/workers?status=true", b => b["w2"]?.GetValue<bool>() == false && b["w1"]?.GetValue<bool>() == true);
        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(20), $"w2 was shown offline only after {killed.Elapsed}");
    }
}
