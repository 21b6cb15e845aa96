using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// A clean start prints no WARNING (nor ERROR) on any node kind. Shard regions start once the node is Up and the
/// worker once its regions have registered with their coordinators, so nothing waits in a region's buffer while a
/// coordinator recovers: sharding's "Trying to register to coordinator … but no acknowledgement" and "Requested shard
/// homes … buffered messages" were start-up ordering, not a fault a user should be warned about.
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
            nodes["seed"] = NodeProcess.Start("Jobs.Seed", ["--port", seedPort.ToString(), "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "seed"), null);
            await Banner(nodes["seed"]);
            // The others start side by side, as on a machine whose services start together.
            nodes["worker"] = NodeProcess.Start("Jobs.Node", [.. shared, "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "worker"), null);
            nodes["api"] = NodeProcess.Start("Jobs.Api", [.. shared, "--http", apiHttp, "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "api"), apiHttp);
            nodes["standalone"] = NodeProcess.Start("Jobs.Node", ["--standalone", "--port", FreePort.Next().ToString(), "--http", standaloneHttp,
                "--cmd-port", FreePort.Next().ToString()], Path.Combine(root, "standalone"), standaloneHttp);
            await Task.WhenAll(nodes.Values.Select(Banner));

            // Each serving node runs a task and sees its worker's heartbeats: the start-up phase is over.
            await RunsATaskAsync(nodes["api"]);
            await RunsATaskAsync(nodes["standalone"]);

            foreach (var (kind, node) in nodes)
            {
                var noisy = node.Output.Where(l => l.Contains(": WARNING/") || l.Contains(": ERROR/")).ToList();
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

    /// <summary>The banner's commands line is printed once the node is Up and serves.</summary>
    private static Task<string> Banner(NodeProcess node) =>
        node.WaitForOutputAsync(l => l.StartsWith("  commands:", StringComparison.Ordinal), Deadline);

    private static async Task RunsATaskAsync(NodeProcess node)
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
                    if (online is JsonObject workers && workers.Any(w => w.Value?.GetValue<bool>() == true))
                        return;
                }
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"no task ran and no worker was online within {Deadline}: {last}{Environment.NewLine}{node.OutputText}");
    }
}
