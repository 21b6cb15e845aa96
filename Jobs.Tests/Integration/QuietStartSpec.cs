using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// A clean start prints no WARNING (nor ERROR) on any node kind. Shard regions start once the node is Up and the
/// worker once its regions have registered with their coordinators, so nothing waits in a region's buffer while a
/// coordinator recovers: sharding's "Trying to register to coordinator … but no acknowledgement" and "Requested shard
/// homes … buffered messages" were start-up ordering, not a fault a user should be warned about. An api node started
/// into a cluster that has run tasks reads them from the journal (its monitor's sweep) as quietly.
/// </summary>
public sealed class QuietStartSpec
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_clean_start_of_every_node_kind_prints_no_warning()
    {
        using var redis = new RedisServer();
        var root = Directory.CreateTempSubdirectory("jobs-quiet-").FullName;
        var nodes = new Dictionary<string, NodeProcess>();
        try
        {
            var seedPort = FreePort.Next();
            var seedAddress = $"akka.tcp://jobs@127.0.0.1:{seedPort}";
            string[] shared = ["--seeds", seedAddress, "--journal", "redis", "--redis", redis.ConnectionString, "--port", "0"];
            var apiHttp = $"127.0.0.1:{FreePort.Next()}";
            var standaloneHttp = $"127.0.0.1:{FreePort.Next()}";
            // One after the other, as README starts them: each once the one before has printed its banner.
            nodes["seed"] = NodeProcess.Start("Jobs.Seed", ["--port", seedPort.ToString(), "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "seed"), null);
            await Banner(nodes["seed"]);
            nodes["worker"] = NodeProcess.Start("Jobs.Node", [.. shared, "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "worker"), null);
            await Banner(nodes["worker"]);
            nodes["api"] = NodeProcess.Start("Jobs.Api", [.. shared, "--http", apiHttp, "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "api"), apiHttp);
            await Banner(nodes["api"]);
            nodes["standalone"] = NodeProcess.Start("Jobs.Node", ["--standalone", "--port", FreePort.Next().ToString(), "--http", standaloneHttp,
                "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "standalone"), standaloneHttp);
            await Banner(nodes["standalone"]);

            // Each serving node runs a task and sees its worker's heartbeats: the start-up phase is over.
            var id = await RunsATaskAsync(nodes["api"]);
            await RunsATaskAsync(nodes["standalone"]);

            // This api node was not there to hear the task's events: only its sweep of the journal can list the task.
            var lateHttp = $"127.0.0.1:{FreePort.Next()}";
            nodes["late api"] = NodeProcess.Start("Jobs.Api", [.. shared, "--http", lateHttp, "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "late-api"), lateHttp);
            await Banner(nodes["late api"]);
            await ListsAsync(nodes["late api"], id);

            foreach (var (kind, node) in nodes)
            {
                var noisy = node.Output.Where(l => (l.Contains(": WARNING/") || l.Contains(": ERROR/")) && !Starved(l)).ToList();
                Assert.True(noisy.Count == 0, $"the {kind} node's clean start logged:{Environment.NewLine}{string.Join(Environment.NewLine, noisy)}");
            }
        }
        finally
        {
            foreach (var node in nodes.Values)
                await node.DisposeAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Akka's reports that a heartbeat came or left late measure how busy the machine is (a shared 2-core machine under
    /// other processes' load), not what the node does at start; every other warning or error fails the spec.
    /// </summary>
    private static bool Starved(string line) =>
        line.Contains("heartbeat interval is growing too large") || line.Contains("Scheduled sending of heartbeat was delayed");

    /// <summary>The banner's commands line is printed once the node is Up and serves.</summary>
    private static Task<string> Banner(NodeProcess node) =>
        node.WaitForOutputAsync(l => l.StartsWith("  commands:", StringComparison.Ordinal), Deadline);

    /// <summary>Waits until the node's task index lists the task as succeeded.</summary>
    private static async Task ListsAsync(NodeProcess node, string id)
    {
        var deadline = DateTime.UtcNow + Deadline;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (_, tasks) = await node.GetAsync("api/tasks?taskname=tasks.add");
            last = tasks;
            if (tasks?[id]?["state"]?.GetValue<string>() == "SUCCESS")
                return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"the task index did not list {id} within {Deadline}: {last}{Environment.NewLine}{node.OutputText}");
    }

    /// <summary>Sends tasks.add until the node knows it, waits for its result and for a worker online; the task's id.</summary>
    private static async Task<string> RunsATaskAsync(NodeProcess node)
    {
        var deadline = DateTime.UtcNow + Deadline;
        string? id = null;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (id is null)
            {
                // 404 until the task catalog, spread by gossip, names the worker's tasks.
                var (status, body) = await node.PostAsync("api/task/async-apply/tasks.add", new { args = new[] { 2, 2 } });
                last = body;
                if (status == 200)
                    id = body!["task-id"]!.GetValue<string>();
            }
            else
            {
                var (_, result) = await node.GetAsync($"api/task/result/{id}?timeout=5");
                last = result;
                if (result?["state"]?.GetValue<string>() == "SUCCESS")
                {
                    var (_, online) = await node.GetAsync("api/workers?status=true");
                    last = online;
                    if (online is JsonObject workers && workers.Any(w => w.Value?.GetValueKind() == System.Text.Json.JsonValueKind.True))
                        return id;
                }
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"no task ran and no worker was online within {Deadline}: {last}{Environment.NewLine}{node.OutputText}");
    }
}
