using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>Flower's task API against a real standalone node process, over real HTTP.</summary>
[Collection(StandaloneNodeCollection.Name)]
public sealed class HttpApiSpec(StandaloneNodeFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private StandaloneNode Standalone => fixture.Node;
    private NodeProcess Node => fixture.Node.Node;

    [Fact]
    public async Task Add_of_2_and_2_is_4()
    {
        var id = await Standalone.SendAsync("tasks.add", new { args = new[] { 2, 2 } });
        var result = await Standalone.ResultAsync(id, Deadline);
        Assert.Equal("SUCCESS", result["state"]!.GetValue<string>());
        Assert.Equal(4, result["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task Async_apply_answers_the_task_id_once_the_task_is_accepted()
    {
        var (status, body) = await Node.PostAsync("api/task/async-apply/tasks.mul", new { args = new[] { 6, 7 }, task_id = "mul-6-7" });
        Assert.Equal(200, status);
        Assert.Equal("mul-6-7", body!["task-id"]!.GetValue<string>());
        Assert.Contains(body["state"]!.GetValue<string>(), new[] { "RECEIVED", "STARTED", "SUCCESS" });
        Assert.Equal(42, (await Standalone.ResultAsync("mul-6-7", Deadline))["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task Apply_waits_and_answers_the_result()
    {
        var (status, body) = await Node.PostAsync("api/task/apply/tasks.xsum", new { args = new object[] { new[] { 1, 2, 3, 4 } } });
        Assert.Equal(200, status);
        Assert.Equal("SUCCESS", body!["state"]!.GetValue<string>());
        Assert.Equal(10, body["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task Keyword_arguments_bind_by_name()
    {
        var (status, body) = await Node.PostAsync("api/task/apply/tasks.add", new { args = new[] { 1 }, kwargs = new { y = 41 } });
        Assert.Equal(200, status);
        Assert.Equal(42, body!["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_task_with_an_explicit_name_runs_under_that_name()
    {
        var id = await Standalone.SendAsync("sum-of-two-numbers", new { args = new[] { 20, 22 } });
        Assert.Equal(42, (await Standalone.ResultAsync(id, Deadline))["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task Send_task_accepts_any_name_and_the_worker_fails_an_unknown_one_as_not_registered()
    {
        var (status, body) = await Node.PostAsync("api/task/send-task/tasks.nobody_has_this", new { args = new[] { 1 } });
        Assert.Equal(200, status);
        var result = await Standalone.ResultAsync(body!["task-id"]!.GetValue<string>(), Deadline);
        Assert.Equal("FAILURE", result["state"]!.GetValue<string>());
        Assert.Contains("NotRegistered", result["result"]!.GetValue<string>());
    }

    [Fact]
    public async Task Send_task_runs_a_known_task_by_name()
    {
        var (_, body) = await Node.PostAsync("api/task/send-task/tasks.add", new { args = new[] { 5, 5 } });
        Assert.Equal(10, (await Standalone.ResultAsync(body!["task-id"]!.GetValue<string>(), Deadline))["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_failing_task_has_its_exception_and_traceback()
    {
        var id = await Standalone.SendAsync("tasks.fail", new { args = new[] { "it broke" } });
        var result = await Standalone.ResultAsync(id, Deadline);
        Assert.Equal("FAILURE", result["state"]!.GetValue<string>());
        Assert.Equal("InvalidOperationException(\"it broke\")", result["result"]!.GetValue<string>());
        var traceback = result["traceback"]!.GetValue<string>();
        Assert.Contains("System.InvalidOperationException: it broke", traceback);
        Assert.Contains("at Jobs.Node.Tasks.Fail", traceback);

        var (status, info) = await Node.GetAsync($"api/task/info/{id}");
        Assert.Equal(200, status);
        Assert.Equal("tasks.fail", info!["name"]!.GetValue<string>());
        Assert.Contains("it broke", info["traceback"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_flaky_task_succeeds_after_its_retries()
    {
        var id = await Standalone.SendAsync("tasks.flaky", new { args = new object[] { 3, "flaky-http" } });
        var result = await Standalone.ResultAsync(id, Deadline);
        Assert.Equal("SUCCESS", result["state"]!.GetValue<string>());
        var (_, info) = await Node.GetAsync($"api/task/info/{id}");
        Assert.Equal(3, info!["retries"]!.GetValue<int>());
    }

    [Fact]
    public async Task An_unknown_task_id_is_pending()
    {
        var (status, body) = await Node.GetAsync("api/task/result/no-such-task");
        Assert.Equal(200, status);
        Assert.Equal("PENDING", body!["state"]!.GetValue<string>());
        var (infoStatus, _) = await Node.GetAsync("api/task/info/no-such-task");
        Assert.Equal(404, infoStatus);
    }

    [Fact]
    public async Task Waiting_on_a_result_that_is_not_ready_times_out_with_408()
    {
        var id = await Standalone.SendAsync("tasks.sleep", new { args = new[] { 5 } });
        var (status, body) = await Node.GetAsync($"api/task/result/{id}?timeout=0.3");
        Assert.Equal(408, status);
        Assert.Contains(body!["state"]!.GetValue<string>(), new[] { "RECEIVED", "STARTED" });
    }

    [Fact]
    public async Task Task_types_lists_the_registered_tasks()
    {
        var (status, body) = await Node.GetAsync("api/task/types");
        Assert.Equal(200, status);
        var names = body!["task-types"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        Assert.Contains("tasks.add", names);
        Assert.Contains("sum-of-two-numbers", names);
        Assert.Contains("tasks.flaky", names);
    }

    [Fact]
    public async Task Healthcheck_answers_OK()
    {
        var (status, body) = await Node.GetAsync("healthcheck");
        Assert.Equal(200, status);
        Assert.Equal("OK", body!.GetValue<string>());
    }

    [Fact]
    public async Task An_OpenAPI_document_describes_the_endpoints()
    {
        var (status, body) = await Node.GetAsync("openapi/v1.json");
        Assert.Equal(200, status);
        var paths = body!["paths"]!.AsObject().Select(p => p.Key).ToArray();
        Assert.Contains("/api/task/async-apply/{name}", paths);
        Assert.Contains("/api/task/result/{id}", paths);
    }

    [Fact]
    public async Task Malformed_json_is_a_400_with_the_parser_position()
    {
        var (status, body) = await Node.PostAsync("api/task/async-apply/tasks.add", """{"args": [1, 2""");
        Assert.Equal(400, status);
        var error = body!["error"]!.GetValue<string>();
        Assert.Contains("malformed JSON", error);
        Assert.Contains("BytePositionInLine", error);
    }

    [Fact]
    public async Task Async_apply_of_an_unregistered_name_is_a_404_naming_it()
    {
        var (status, body) = await Node.PostAsync("api/task/async-apply/tasks.missing", new { args = new[] { 1 } });
        Assert.Equal(404, status);
        Assert.Contains("tasks.missing", body!["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"args": [1, "two"]}""", "'y'")]
    [InlineData("""{"args": [1, 2, 3]}""", "3 were given")]
    [InlineData("""{"args": [1]}""", "'y'")]
    [InlineData("""{"args": [1, 2], "kwargs": {"z": 3}}""", "'z'")]
    [InlineData("""{"args": [1], "kwargs": {"x": 3}}""", "'x'")]
    [InlineData("""{"args": {"x": 1}}""", "'args' must be a JSON array")]
    [InlineData("""{"kwargs": [1]}""", "'kwargs' must be a JSON object")]
    [InlineData("""{"countdown": "soon"}""", "'countdown'")]
    [InlineData("""{"eta": "tomorrow"}""", "'eta'")]
    [InlineData("""{"priority": 3}""", "unknown field 'priority'")]
    [InlineData("[1, 2]", "must be a JSON object")]
    public async Task Arguments_and_options_that_do_not_fit_are_a_400_naming_what_is_wrong(string json, string expected)
    {
        var (status, body) = await Node.PostAsync("api/task/async-apply/tasks.add", json);
        Assert.Equal(400, status);
        Assert.Contains(expected, body!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_body_over_the_limit_is_a_413_and_the_node_keeps_running()
    {
        var huge = new { args = new object[] { new string('x', 2 * 1024 * 1024), 1 } };
        var (status, _) = await Node.PostAsync("api/task/async-apply/tasks.echo", huge);
        Assert.Equal(413, status);
        Assert.Equal(4, (await Standalone.ResultAsync(await Standalone.SendAsync("tasks.add", new { args = new[] { 2, 2 } }), Deadline))["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task Arguments_too_large_to_travel_are_a_413_though_the_body_is_within_its_limit()
    {
        // 300 KB of '<', which the message serializer escapes to six bytes each: 1.8 MB on the way to a worker.
        var (status, body) = await Node.PostAsync("api/task/async-apply/tasks.echo", $$"""{"args": ["{{new string('<', 300_000)}}"]}""");
        Assert.Equal(413, status);
        Assert.Contains("jobs.tasks.max-arguments-size", body!["error"]!.GetValue<string>());
        Assert.Equal(4, (await Standalone.ResultAsync(await Standalone.SendAsync("tasks.add", new { args = new[] { 2, 2 } }), Deadline))["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_result_that_does_not_serialize_is_a_failure_with_the_reason()
    {
        var id = await Standalone.SendAsync("test.unserializable", new { });
        var result = await Standalone.ResultAsync(id, Deadline);
        Assert.Equal("FAILURE", result["state"]!.GetValue<string>());
        Assert.Contains("ResultSerializationException", result["result"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_task_logger_tags_lines_with_the_task_name_and_id()
    {
        var id = await Standalone.SendAsync("tasks.add", new { args = new[] { 20, 3 } });
        await Standalone.ResultAsync(id, Deadline);
        var line = await Node.WaitForOutputAsync(l => l.Contains($"tasks.add[{id}]: Adding 20 + 3"), Deadline);
        Assert.Matches(@"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO/", line);
    }

    [Fact]
    public async Task An_expired_task_is_revoked_without_running()
    {
        var id = await Standalone.SendAsync("tasks.add", new { args = new[] { 1, 1 }, countdown = 2, expires = 0.5 });
        var result = await Standalone.ResultAsync(id, Deadline);
        Assert.Equal("REVOKED", result["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_task_revoked_before_its_countdown_ends_never_runs()
    {
        var id = await Standalone.SendAsync("tasks.add", new { args = new[] { 1, 1 }, countdown = 5 });
        var (status, body) = await Node.PostAsync($"api/task/revoke/{id}", null);
        Assert.Equal(200, status);
        Assert.Equal($"Revoked '{id}'", body!["message"]!.GetValue<string>());
        var (_, late) = await Node.GetAsync($"api/task/result/{id}?timeout=2");
        Assert.Equal("REVOKED", late!["state"]!.GetValue<string>());
        Assert.Equal(["TaskReceived", "TaskRevoked"], Standalone.JournaledEvents(id));
    }

    [Fact]
    public async Task A_running_task_revoked_with_terminate_is_revoked_at_once()
    {
        var id = await Standalone.SendAsync("tasks.sleep", new { args = new[] { 30 } });
        var deadline = DateTime.UtcNow + Deadline;
        while ((await Node.GetAsync($"api/task/result/{id}")).Body!["state"]!.GetValue<string>() != "STARTED")
        {
            Assert.True(DateTime.UtcNow < deadline, "the task never started");
            await Task.Delay(50);
        }
        var (status, _) = await Node.PostAsync($"api/task/revoke/{id}?terminate=true", null);
        Assert.Equal(200, status);
        var (_, info) = await Node.GetAsync($"api/task/info/{id}");
        Assert.Equal("REVOKED", info!["state"]!.GetValue<string>());
        Assert.Equal("terminated", info["revoked_reason"]!.GetValue<string>());
    }
}
