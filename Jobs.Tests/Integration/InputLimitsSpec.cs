using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// Inputs that are well-formed but out of bounds get a 400 naming the field, before anything is journaled or any
/// entity is created: huge pages and trees, times past what dates hold, ids and queue names that would become
/// kilobyte-long actor names and Redis keys.
/// </summary>
[Collection(StandaloneNodeCollection.Name)]
public sealed class InputLimitsSpec(StandaloneNodeFixture fixture)
{
    private StandaloneNode Standalone => fixture.Node;
    private NodeProcess Node => fixture.Node.Node;

    [Theory]
    [InlineData("countdown")]
    [InlineData("expires")]
    public async Task A_countdown_or_expiry_of_1e300_seconds_is_a_400_not_a_500(string field)
    {
        var id = "far-" + Guid.NewGuid().ToString("N");
        var (status, body) = await Node.PostAsync("api/task/async-apply/tasks.add", $$"""{"args": [1, 1], "task_id": "{{id}}", "{{field}}": 1e300}""");
        Assert.Equal(400, status);
        Assert.Equal(field, body!["parameter"]!.GetValue<string>());
        Assert.Empty(Standalone.JournaledEvents(id));

        var (canvas, _) = await Node.PostAsync("api/canvas", """{"task": "tasks.add", "args": [1, 1], "options": {"countdown": 1e300}}""");
        Assert.Equal(400, canvas);
    }

    [Theory]
    [InlineData("task_id", 256, 'a')]
    [InlineData("task_id", 10, '/')]
    [InlineData("task_id", 10, ' ')]
    [InlineData("task_id", 10, '\n')]
    [InlineData("queue", 101, 'q')]
    [InlineData("queue", 5, '*')]
    public async Task A_task_id_or_queue_too_long_or_with_characters_unsafe_in_keys_and_paths_is_refused(string field, int length, char filler)
    {
        var value = "x" + new string(filler, length - 1);
        var body = new JsonObject { ["args"] = new JsonArray(1, 1), [field] = value };
        var (status, answer) = await Node.PostAsync("api/task/async-apply/tasks.add", body.ToJsonString());
        Assert.Equal(400, status);
        Assert.Equal(field, answer!["parameter"]!.GetValue<string>());
        if (field == "task_id")
            Assert.Empty(Standalone.JournaledEvents(value));

        var canvas = new JsonObject { ["task"] = "tasks.add", ["args"] = new JsonArray(1, 1), ["options"] = new JsonObject { [field] = value } };
        Assert.Equal(400, (await Node.PostAsync("api/canvas", canvas.ToJsonString())).Status);
    }

    [Fact]
    public async Task A_path_id_too_long_for_a_task_is_refused_before_an_entity_is_asked()
    {
        var id = new string('a', 300);
        foreach (var path in new[] { $"api/task/result/{id}", $"api/task/info/{id}", $"api/canvas/{id}", $"api/canvas/{id}/tree", $"api/task/events/{id}" })
            Assert.Equal(400, (await Node.GetAsync(path)).Status);
        Assert.Equal(400, (await Node.PostAsync($"api/task/revoke/{id}", null)).Status);
        Assert.Empty(Standalone.JournaledEvents(id));
    }

    [Fact]
    public async Task Children_limit_is_capped_and_a_wait_asks_at_most_the_maximum()
    {
        var (limit, body) = await Node.GetAsync("api/canvas/any-id?children_limit=10001");
        Assert.Equal(400, limit);
        Assert.Equal("children_limit", body!["parameter"]!.GetValue<string>());
        Assert.Equal(400, (await Node.PostAsync("api/canvas?children_limit=1000000", """{"task": "tasks.add", "args": [1, 1]}""")).Status);
        Assert.Equal(400, (await Node.GetAsync("api/canvas/any-id/tree?children_limit=10001")).Status);

        var (wait, waitBody) = await Node.GetAsync("api/task/result/some-id?timeout=301");
        Assert.Equal(400, wait);
        Assert.Contains("max-wait", waitBody!["error"]!.GetValue<string>());
        Assert.Equal(400, (await Node.GetAsync("api/canvas/some-id?timeout=3600")).Status);
    }

    [Fact]
    public async Task The_tree_of_a_big_group_lists_a_bounded_number_of_children_and_counts_the_rest_by_state()
    {
        var tasks = new JsonArray(Enumerable.Range(0, 1100).Select(i => (JsonNode?)new JsonObject { ["task"] = "tasks.add", ["args"] = new JsonArray(i, i) }).ToArray());
        var group = new JsonObject { ["subtask_type"] = "group", ["kwargs"] = new JsonObject { ["tasks"] = tasks } };
        var (status, started) = await Node.PostAsync("api/canvas?children_limit=0", group.ToJsonString());
        Assert.Equal(200, status);
        var id = started!["task-id"]!.GetValue<string>();

        var (_, tree) = await Node.GetAsync($"api/canvas/{id}/tree");
        var root = tree!["root"]!;
        Assert.Equal(1000, root["children"]!.AsArray().Count);
        Assert.Equal(1100, root["children_count"]!.GetValue<int>());
        Assert.Equal(100, root["more"]!.AsObject().Sum(s => s.Value!.GetValue<int>()));

        var (_, small) = await Node.GetAsync($"api/canvas/{id}/tree?children_limit=5");
        Assert.Equal(5, small!["root"]!["children"]!.AsArray().Count);
        Assert.Equal(1095, small["root"]!["more"]!.AsObject().Sum(s => s.Value!.GetValue<int>()));
    }

    [Fact]
    public async Task A_multipart_body_that_is_not_one_is_a_400_on_a_control_endpoint_not_a_500()
    {
        // Found by HttpFuzzSpec (seed 20261201).
        using var content = new StringContent("""{"n": 1}""");
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data; boundary=zz");
        using var response = await Node.Http!.PostAsync("api/worker/pool/grow/nobody", content);
        Assert.Equal(400, (int)response.StatusCode);
    }
}
