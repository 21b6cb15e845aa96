using System.Text.Json.Nodes;
using Jobs.Actors.Hosting;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// A chord's and a chain's coordinators on a real multi-process cluster: kill -9 the worker that hosts them mid-flight
/// and their shard moves to the surviving worker, which recovers them from the Redis journal; no node is restarted,
/// no client resubmits, the results are right and the chord's body runs once.
/// </summary>
public sealed class CanvasFailoverSpec() : RedisClusterSpec(seeds: 1, workers: 2, "--concurrency", "2", "--prefetch", "2")
{
    private static JsonObject Sig(string task, params object[] args) => new()
    {
        ["task"] = task, ["args"] = new JsonArray(args.Select(a => JsonValue.Create(a)).ToArray<JsonNode?>()),
        ["kwargs"] = new JsonObject(), ["options"] = new JsonObject(), ["subtask_type"] = null, ["immutable"] = false,
    };

    private async Task<JsonNode> CanvasAsync(string id) => (await Cluster.Api!.GetAsync($"api/canvas/{id}")).Body!;

    private static int Succeeded(JsonNode canvas) =>
        canvas["children"]?.AsArray().Count(c => c!["state"]!.GetValue<string>() == "SUCCESS") ?? 0;

    [Fact]
    public async Task A_chord_and_a_chain_complete_once_when_the_worker_hosting_their_coordinators_is_killed()
    {
        // Both coordinators in one shard, so one kill takes both away.
        var shards = new StableMessageExtractor(100, _ => null);
        var chordId = "chord-" + Guid.NewGuid().ToString("N");
        var chainId = Enumerable.Range(0, 100_000).Select(_ => "chain-" + Guid.NewGuid().ToString("N"))
            .First(id => shards.ShardId(id) == shards.ShardId(chordId));
        var bodyId = "body-" + Guid.NewGuid().ToString("N");
        // The chord's last member and the chain's seventh wait for this file, which appears only after the kill: the
        // kill lands mid-flight however fast or slow the machine runs the other bodies (each gated body holds one of
        // the four slots; the other two run the rest).
        var gate = Path.Combine(Path.GetTempPath(), "jobs-gate-" + Guid.NewGuid().ToString("N"));

        var body = Sig("tasks.xsum");
        body["options"] = new JsonObject { ["task_id"] = bodyId };
        var chord = new JsonObject
        {
            ["task"] = "celery.chord", ["args"] = new JsonArray(), ["subtask_type"] = "chord", ["immutable"] = false,
            ["options"] = new JsonObject { ["task_id"] = chordId },
            ["kwargs"] = new JsonObject
            {
                ["header"] = new JsonArray(Enumerable.Range(0, 1000).Select(i => (JsonNode?)(i < 999 ? Sig("test.slow_add", i, i, 0.02) : Sig("test.gated_add", i, i, gate))).ToArray()),
                ["body"] = body,
            },
        };
        var chain = new JsonObject
        {
            ["task"] = "celery.chain", ["args"] = new JsonArray(), ["subtask_type"] = "chain", ["immutable"] = false,
            ["options"] = new JsonObject { ["task_id"] = chainId },
            ["kwargs"] = new JsonObject
            {
                ["tasks"] = new JsonArray([Sig("test.slow_add", 0, 0, 0.05), .. Enumerable.Range(0, 39).Select(i => (JsonNode?)(i == 5 ? Sig("test.gated_add", 1, gate) : Sig("test.slow_add", 1, 0.05)))]),
            },
        };
        Assert.Equal(200, (await Cluster.Api!.PostAsync("api/canvas", chain.ToJsonString())).Status);
        Assert.Equal(200, (await Cluster.Api!.PostAsync("api/canvas", chord.ToJsonString())).Status);

        var host = await CoordinatorHostAsync();
        var deadline = DateTime.UtcNow + Deadline;
        while (Succeeded(await CanvasAsync(chordId)) < 300 || Succeeded(await CanvasAsync(chainId)) < 1)
        {
            Assert.True(DateTime.UtcNow < deadline, "the chord or the chain made no progress");
            await Task.Delay(100);
        }
        Assert.InRange(Succeeded(await CanvasAsync(chordId)), 300, 999);
        Assert.InRange(Succeeded(await CanvasAsync(chainId)), 1, 6);
        await Cluster.Workers[host].KillAsync();
        File.WriteAllText(gate, "open");

        var chordResult = await ReadyAsync(chordId, deadline + Deadline);
        var chainResult = await ReadyAsync(chainId, deadline + Deadline);
        Assert.Equal(999_000, chordResult["result"]!.GetValue<long>());
        Assert.Equal(39, chainResult["result"]!.GetValue<long>());
        Assert.Equal(["TaskReceived", "TaskSucceeded"], RedisJournalReader.Manifests(Redis, bodyId));
        File.Delete(gate);
    }

    /// <summary>The worker whose canvas region holds the coordinators, as `jobs … sharding region-stats canvas` tells.</summary>
    private async Task<string> CoordinatorHostAsync()
    {
        var (exit, output, error) = await CliSpec.JobsAsync($"127.0.0.1:{Cluster.ApiCmdPort}", "sharding", "region-stats", "canvas", "--json");
        Assert.True(exit == 0, error);
        var hosting = JsonNode.Parse(output)!.AsObject().Where(r => r.Value!["entities"]!.GetValue<int>() > 0).Select(r => r.Key).ToArray();
        var address = Assert.Single(hosting);
        return Cluster.WorkerAddresses.Single(w => w.Value == address).Key;
    }

    private async Task<JsonNode> ReadyAsync(string canvasId, DateTime deadline)
    {
        while (true)
        {
            var (status, body) = await Cluster.Api!.GetAsync($"api/canvas/{canvasId}?timeout=5");
            // While the shard moves, the api node may answer 408 or an error: ask again until the deadline.
            if (status == 200 && body?["state"]?.GetValue<string>() is "SUCCESS" or "FAILURE")
            {
                Assert.Equal("SUCCESS", body!["state"]!.GetValue<string>());
                return body;
            }
            Assert.True(DateTime.UtcNow < deadline, $"canvas {canvasId} not done: {body}");
        }
    }
}
