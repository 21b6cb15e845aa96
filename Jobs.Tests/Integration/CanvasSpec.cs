using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>Celery's canvas over HTTP (Celery's signature JSON), against a real standalone node: the exact results.</summary>
[Collection(StandaloneNodeCollection.Name)]
public sealed class CanvasSpec(StandaloneNodeFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private NodeProcess Node => fixture.Node.Node;

    private static JsonObject Sig(string task, object[]? args = null, bool immutable = false, JsonObject? options = null) => new()
    {
        ["task"] = task,
        ["args"] = JsonValueArray(args ?? []),
        ["kwargs"] = new JsonObject(),
        ["options"] = options ?? new JsonObject(),
        ["subtask_type"] = null,
        ["immutable"] = immutable,
    };

    private static JsonArray JsonValueArray(IEnumerable<object?> items) =>
        new(items.Select(i => i is JsonNode node ? node : System.Text.Json.JsonSerializer.SerializeToNode(i)).ToArray());

    private static JsonObject Compound(string type, JsonObject kwargs, JsonObject? options = null) => new()
    {
        ["task"] = "celery." + type, ["args"] = new JsonArray(), ["kwargs"] = kwargs, ["options"] = options ?? new JsonObject(),
        ["subtask_type"] = type, ["immutable"] = false,
    };

    private static JsonObject Chain(params JsonObject[] steps) => Compound("chain", new JsonObject { ["tasks"] = new JsonArray(steps) });

    private static JsonObject Group(IEnumerable<JsonObject> members) => Compound("group", new JsonObject { ["tasks"] = new JsonArray(members.ToArray<JsonNode?>()) });

    private static JsonObject Chord(IEnumerable<JsonObject> header, JsonObject body, JsonObject? options = null) =>
        Compound("chord", new JsonObject { ["header"] = new JsonArray(header.ToArray<JsonNode?>()), ["body"] = body, ["kwargs"] = new JsonObject() }, options);

    private async Task<(JsonNode Started, JsonNode Result)> RunAsync(JsonObject signature)
    {
        var (status, started) = await Node.PostAsync("api/canvas", signature.ToJsonString());
        Assert.True(status == 200, $"POST /api/canvas answered {status}: {started}");
        var id = started!["task-id"]!.GetValue<string>();
        return (started, await AwaitAsync(id));
    }

    /// <summary>Asks for the canvas's result until it is ready; a wait that ends first answers 408 PENDING.</summary>
    private async Task<JsonNode> AwaitAsync(string id, string query = "")
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var (_, result) = await Node.GetAsync($"api/canvas/{id}?timeout=5{query}");
            if (result!["state"]!.GetValue<string>() is "SUCCESS" or "FAILURE")
                return result;
            Assert.True(DateTime.UtcNow < deadline, $"canvas {id} not ready: {result}");
        }
    }

    private static long[] Longs(JsonNode? node) => node!.AsArray().Select(n => n!.GetValue<long>()).ToArray();

    [Fact]
    public async Task A_chain_passes_each_result_to_the_next_step()
    {
        var (started, result) = await RunAsync(Chain(Sig("tasks.add", [2, 2]), Sig("tasks.add", [4]), Sig("tasks.add", [8])));
        Assert.Equal(16, result["result"]!.GetValue<int>());
        Assert.Equal(3, started["children"]!.AsArray().Count);
        Assert.All(result["children"]!.AsArray(), c => Assert.Equal("SUCCESS", c!["state"]!.GetValue<string>()));
    }

    [Fact]
    public async Task An_immutable_step_ignores_the_parent_result()
    {
        var (_, result) = await RunAsync(Chain(Sig("tasks.add", [2, 2]), Sig("tasks.add", [10, 10], immutable: true)));
        Assert.Equal(20, result["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_group_answers_its_results_in_submission_order()
    {
        var (_, result) = await RunAsync(Group(Enumerable.Range(0, 10).Select(i => Sig("tasks.add", [i, i]))));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => 2L * i), Longs(result["result"]));
    }

    [Fact]
    public async Task A_chord_of_a_hundred_sums_to_9900_and_its_body_runs_once()
    {
        var body = Sig("tasks.xsum", options: new JsonObject { ["task_id"] = "chord-body-" + Guid.NewGuid().ToString("N") });
        var (started, result) = await RunAsync(Chord(Enumerable.Range(0, 100).Select(i => Sig("tasks.add", [i, i])), body));
        Assert.Equal(9900, result["result"]!.GetValue<int>());
        Assert.Equal(101, started["children"]!.AsArray().Count);
        var bodyId = body["options"]!["task_id"]!.GetValue<string>();
        Assert.Equal(["TaskReceived", "TaskSucceeded"], fixture.Node.JournaledEvents(bodyId));
    }

    [Fact]
    public async Task Map_applies_the_task_to_each_item_in_one_task()
    {
        var map = Sig("celery.map");
        map["kwargs"] = new JsonObject { ["task"] = Sig("tasks.tsum"), ["it"] = JsonValueArray([new[] { 1, 2 }, new[] { 3 }]) };
        var (started, result) = await RunAsync(map);
        Assert.Equal([3L, 3], Longs(result["result"]));
        Assert.Single(started["children"]!.AsArray());
    }

    [Fact]
    public async Task Starmap_spreads_each_item_over_the_arguments()
    {
        var starmap = Sig("celery.starmap");
        starmap["kwargs"] = new JsonObject { ["task"] = Sig("tasks.add"), ["it"] = JsonValueArray([new[] { 2, 2 }, new[] { 4, 4 }]) };
        var (_, result) = await RunAsync(starmap);
        Assert.Equal([4L, 8], Longs(result["result"]));
    }

    [Fact]
    public async Task Chunks_make_ten_tasks_whose_flattened_results_are_in_order()
    {
        var chunks = Compound("chunks", new JsonObject
        {
            ["task"] = Sig("tasks.add"),
            ["it"] = JsonValueArray(Enumerable.Range(0, 100).Select(i => (object?)new[] { i, i })),
            ["n"] = 10,
        });
        var (started, result) = await RunAsync(chunks);
        Assert.Equal(10, started["children"]!.AsArray().Count);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 2L * i), result["result"]!.AsArray().SelectMany(Longs));
    }

    [Fact]
    public async Task Nested_canvases_compose()
    {
        // A chain whose middle is a group: the group gets the previous result, the next step the list.
        var (_, chain) = await RunAsync(Chain(Sig("tasks.add", [1, 1]), Group([Sig("tasks.add", [10]), Sig("tasks.mul", [10])]), Sig("tasks.xsum")));
        Assert.Equal(32, chain["result"]!.GetValue<int>());

        // A group of chains.
        var (_, group) = await RunAsync(Group([Chain(Sig("tasks.add", [1, 1]), Sig("tasks.mul", [3])), Chain(Sig("tasks.add", [2, 2]), Sig("tasks.mul", [5]))]));
        Assert.Equal([6L, 20], Longs(group["result"]));

        // A chord inside a chain, whose header holds chains.
        var (_, nested) = await RunAsync(Chain(
            Chord([Chain(Sig("tasks.add", [1, 1]), Sig("tasks.add", [1])), Sig("tasks.add", [5, 5])], Sig("tasks.xsum")),
            Sig("tasks.mul", [2])));
        Assert.Equal(26, nested["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task Links_run_with_the_result_and_error_links_receive_the_traceback()
    {
        var linkId = "link-" + Guid.NewGuid().ToString("N");
        var link = Sig("tasks.add", [16], options: new JsonObject { ["task_id"] = linkId });
        var (_, ok) = await RunAsync(Sig("tasks.add", [2, 2], options: new JsonObject { ["link"] = link }));
        Assert.Equal(4, ok["result"]!.GetValue<int>());
        Assert.Equal(20, (await fixture.Node.ResultAsync(linkId, Deadline))["result"]!.GetValue<int>());

        var errbackId = "errback-" + Guid.NewGuid().ToString("N");
        var errback = Sig("test.on_error", options: new JsonObject { ["task_id"] = errbackId });
        var (_, failed) = await RunAsync(Sig("tasks.fail", ["broken on purpose"], options: new JsonObject { ["link_error"] = errback }));
        Assert.Equal("FAILURE", failed["state"]!.GetValue<string>());
        var told = (await fixture.Node.ResultAsync(errbackId, Deadline))["result"]!;
        Assert.Equal("InvalidOperationException", told["type"]!.GetValue<string>());
        Assert.Equal("broken on purpose", told["message"]!.GetValue<string>());
        Assert.Contains("at Jobs.Node.Tasks.Fail", told["traceback"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failing_step_stops_the_chain()
    {
        var lastId = "never-" + Guid.NewGuid().ToString("N");
        var (_, result) = await RunAsync(Chain(Sig("tasks.add", [1, 1]), Sig("tasks.fail", ["stop here"], immutable: true),
            Sig("tasks.add", [1], options: new JsonObject { ["task_id"] = lastId })));
        Assert.Equal("FAILURE", result["state"]!.GetValue<string>());
        Assert.Contains("stop here", result["result"]!.GetValue<string>());
        var (_, never) = await Node.GetAsync($"api/task/result/{lastId}");
        Assert.Equal("PENDING", never!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_failing_header_member_fails_the_chord_without_running_the_body()
    {
        var bodyId = "body-" + Guid.NewGuid().ToString("N");
        var errbackId = "chord-errback-" + Guid.NewGuid().ToString("N");
        var header = new[] { Sig("tasks.add", [1, 1]), Sig("tasks.fail", ["header broke"], options: new JsonObject { ["task_id"] = "bad-" + bodyId }) };
        var (_, result) = await RunAsync(Chord(header, Sig("tasks.xsum", options: new JsonObject { ["task_id"] = bodyId }),
            new JsonObject { ["link_error"] = Sig("test.on_error", options: new JsonObject { ["task_id"] = errbackId }) }));
        Assert.Equal("FAILURE", result["state"]!.GetValue<string>());
        Assert.Contains("bad-" + bodyId, result["result"]!.GetValue<string>());
        var (_, body) = await Node.GetAsync($"api/task/result/{bodyId}");
        Assert.Equal("PENDING", body!["state"]!.GetValue<string>());
        var told = (await fixture.Node.ResultAsync(errbackId, Deadline))["result"]!;
        Assert.Equal("ChordError", told["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_flaky_header_member_is_counted_once()
    {
        var (_, result) = await RunAsync(Chord([Sig("tasks.flaky", [2, "chord"]), Sig("tasks.flaky", [1, "chord"])], Sig("tasks.echo")));
        Assert.Equal(2, result["result"]!.AsArray().Count);
    }

    [Fact]
    public async Task A_malformed_signature_is_a_400_naming_where()
    {
        var (status, body) = await Node.PostAsync("api/canvas", """{"task": "celery.chain", "subtask_type": "chain", "kwargs": {"tasks": [{"args": [1]}]}}""");
        Assert.Equal(400, status);
        Assert.Contains("$.kwargs.tasks[0]", body!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_canvas_in_which_two_tasks_share_a_task_id_is_a_400_naming_the_id_and_nothing_runs()
    {
        var id = "twice-" + Guid.NewGuid().ToString("N")[..8];
        var step = new JsonObject { ["task_id"] = id };
        var (status, body) = await Node.PostAsync("api/canvas",
            Chain(Sig("tasks.add", [2, 2], options: step), Sig("tasks.add", [4], options: step.DeepClone().AsObject())).ToJsonString());
        Assert.Equal(400, status);
        Assert.Contains($"'{id}'", body!["error"]!.GetValue<string>());
        var (_, task) = await Node.GetAsync($"api/task/result/{id}");
        Assert.Equal("PENDING", task!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Children_are_paged_in_the_answers_and_a_big_canvas_does_not_echo_its_tree()
    {
        var header = Enumerable.Range(0, 1500).Select(i => Sig("tasks.add", [i, i])).ToArray();
        var (status, started) = await Node.PostAsync("api/canvas", Chord(header, Sig("tasks.xsum")).ToJsonString());
        Assert.True(status == 200, $"POST /api/canvas answered {status}: {started}");
        // The default page is 1,000 of the 1,501 members (the body included); the tree is left to GET .../tree.
        Assert.Equal(1000, started!["children"]!.AsArray().Count);
        Assert.Equal(1501, started["children_count"]!.GetValue<int>());
        Assert.Null(started["signature"]);
        var id = started["task-id"]!.GetValue<string>();
        var done = await AwaitAsync(id, "&children_offset=1499&children_limit=10");
        Assert.Equal("SUCCESS", done["state"]!.GetValue<string>());
        Assert.Equal(1500L * 1499, done["result"]!.GetValue<long>());
        Assert.Equal(1501, done["children_count"]!.GetValue<int>());
        Assert.Equal(["tasks.add", "tasks.xsum"], done["children"]!.AsArray().Select(c => c!["task"]!.GetValue<string>()));

        var (_, first) = await Node.GetAsync($"api/canvas/{id}?children_limit=2");
        Assert.Equal(started["children"]!.AsArray().Take(2).Select(c => c!.GetValue<string>()),
            first!["children"]!.AsArray().Select(c => c!["task-id"]!.GetValue<string>()));
        var (_, page) = await Node.PostAsync("api/canvas?children_offset=1&children_limit=1", Chain(Sig("tasks.add", [1, 1]), Sig("tasks.add", [1])).ToJsonString());
        Assert.Single(page!["children"]!.AsArray());
        Assert.Equal(2, page["children_count"]!.GetValue<int>());

        var (bad, error) = await Node.GetAsync($"api/canvas/{id}?children_limit=-1");
        Assert.Equal(400, bad);
        Assert.Contains("children_limit", error!["error"]!.GetValue<string>());
    }
}
