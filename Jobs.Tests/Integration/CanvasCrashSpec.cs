using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// Coordinators are persistent actors: kill -9 the node hosting a chord's (or a chain's) coordinator mid-flight,
/// start it again, and the workflow completes with the right result and its body runs once.
/// </summary>
public sealed class CanvasCrashSpec : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);
    private readonly StandaloneNode _node = new("--concurrency", "4");

    public Task InitializeAsync() => _node.StartAsync();

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    /// <summary>A signature of <paramref name="task"/>; a chain member's y is left out, its parent's result comes first.</summary>
    private static JsonObject Sig(string task, object x, object? y, object last) => new()
    {
        ["task"] = task,
        ["args"] = y is null ? new JsonArray(JsonValue.Create(x), JsonValue.Create(last)) : new JsonArray(JsonValue.Create(x), JsonValue.Create(y), JsonValue.Create(last)),
        ["kwargs"] = new JsonObject(),
        ["options"] = new JsonObject(),
        ["subtask_type"] = null,
        ["immutable"] = false,
    };

    private static JsonObject SlowAdd(object x, double seconds, object? y = null) => Sig("test.slow_add", x, y, seconds);

    private static JsonObject GatedAdd(object x, string gate, object? y = null) => Sig("test.gated_add", x, y, gate);

    private async Task<JsonNode> CanvasAsync(string id)
    {
        var (_, body) = await _node.Node.GetAsync($"api/canvas/{id}");
        return body!;
    }

    // An answer without children (the node busy: 503 or 408) counts as no progress yet; the caller's deadline bounds it.
    private static int Succeeded(JsonNode canvas) =>
        canvas["children"]?.AsArray().Count(c => c!["state"]!.GetValue<string>() == "SUCCESS") ?? 0;

    [Fact]
    public async Task A_chord_and_a_chain_survive_kill_9_of_their_coordinators_node()
    {
        var bodyId = "crash-body-" + Guid.NewGuid().ToString("N");
        // The chord's last member and the chain's seventh wait for this file, which appears only after the kill: the
        // kill lands mid-flight however fast or slow the machine runs the other bodies (each gated body holds one of
        // the four slots; the other two run the rest).
        var gate = Path.Combine(Path.GetTempPath(), "jobs-gate-" + Guid.NewGuid().ToString("N"));
        var chord = new JsonObject
        {
            ["task"] = "celery.chord", ["args"] = new JsonArray(), ["options"] = new JsonObject(), ["subtask_type"] = "chord", ["immutable"] = false,
            ["kwargs"] = new JsonObject
            {
                ["header"] = new JsonArray(Enumerable.Range(0, 1000).Select(i => (JsonNode?)(i < 999 ? SlowAdd(i, 0.01, i) : GatedAdd(i, gate, i))).ToArray()),
                ["body"] = new JsonObject { ["task"] = "tasks.xsum", ["args"] = new JsonArray(), ["kwargs"] = new JsonObject(),
                    ["options"] = new JsonObject { ["task_id"] = bodyId } },
            },
        };
        var chain = new JsonObject
        {
            ["task"] = "celery.chain", ["args"] = new JsonArray(), ["options"] = new JsonObject(), ["subtask_type"] = "chain", ["immutable"] = false,
            ["kwargs"] = new JsonObject
            {
                ["tasks"] = new JsonArray([SlowAdd(0, 0.05, 0), .. Enumerable.Range(0, 29).Select(i => (JsonNode?)(i == 5 ? GatedAdd(1, gate) : SlowAdd(1, 0.05)))]),
            },
        };
        var deadline = DateTime.UtcNow + Deadline;
        var (_, startedChain) = await _node.Node.PostAsync("api/canvas", chain.ToJsonString());
        var chainId = startedChain!["task-id"]!.GetValue<string>();
        while (Succeeded(await CanvasAsync(chainId)) < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "the chain made no progress");
            await Task.Delay(50);
        }
        var (_, startedChord) = await _node.Node.PostAsync("api/canvas", chord.ToJsonString());
        var chordId = startedChord!["task-id"]!.GetValue<string>();
        while (Succeeded(await CanvasAsync(chordId)) < 300)
        {
            Assert.True(DateTime.UtcNow < deadline, "the chord made no progress");
            await Task.Delay(50);
        }
        var chordDoneBefore = Succeeded(await CanvasAsync(chordId));
        var chainDoneBefore = Succeeded(await CanvasAsync(chainId));
        await _node.KillAsync();
        Assert.InRange(chordDoneBefore, 300, 999);
        Assert.InRange(chainDoneBefore, 3, 6);
        File.WriteAllText(gate, "open");
        await _node.StartAsync();

        JsonNode chordResult, chainResult;
        while ((chordResult = (await _node.Node.GetAsync($"api/canvas/{chordId}?timeout=5")).Body!)["state"]!.GetValue<string>() != "SUCCESS")
            Assert.True(DateTime.UtcNow < deadline + Deadline, $"chord not done: {chordResult["state"]}");
        while ((chainResult = (await _node.Node.GetAsync($"api/canvas/{chainId}?timeout=5")).Body!)["state"]!.GetValue<string>() != "SUCCESS")
            Assert.True(DateTime.UtcNow < deadline + Deadline, $"chain not done: {chainResult["state"]}");

        Assert.Equal(999000, chordResult["result"]!.GetValue<long>());
        Assert.Equal(29, chainResult["result"]!.GetValue<long>());
        Assert.Equal(["TaskReceived", "TaskSucceeded"], _node.JournaledEvents(bodyId));
        File.Delete(gate);
    }
}
