using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>Flower's monitoring API, the SSE stream and /metrics against a real standalone node (SQLite journal).</summary>
[Collection(StandaloneNodeCollection.Name)]
public sealed class MonitoringApiSpec(StandaloneNodeFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private StandaloneNode Standalone => fixture.Node;
    private NodeProcess Node => fixture.Node.Node;

    /// <summary>GET answering status, parsed body and the X-Total-Count header.</summary>
    private async Task<(int Status, JsonNode? Body, long? Total)> GetAsync(string path)
    {
        using var response = await Node.Http!.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        long? total = response.Headers.TryGetValues("X-Total-Count", out var values) ? long.Parse(values.Single()) : null;
        return ((int)response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), total);
    }

    /// <summary>Polls <paramref name="path"/> until <paramref name="done"/> holds, under a deadline.</summary>
    private async Task<(JsonNode Body, long? Total)> EventuallyAsync(string path, Func<JsonNode, long?, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Deadline);
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (status, body, total) = await GetAsync(path);
            last = body;
            if (status == 200 && done(body!, total))
                return (body!, total);
            await Task.Delay(100);
        }
        throw new TimeoutException($"GET {path} did not satisfy the condition within the deadline; last: {last}");
    }

    [Fact]
    public async Task A_finished_task_is_listed_in_flowers_shape_with_the_filtered_total()
    {
        var marker = "listed-" + Guid.NewGuid().ToString("N")[..8];
        var id = await Standalone.SendAsync("tasks.echo", new { args = new[] { marker } });
        await Standalone.ResultAsync(id, Deadline);

        var (body, total) = await EventuallyAsync($"api/tasks?search={marker}", (b, _) => b[id]?["state"]?.GetValue<string>() == "SUCCESS");
        Assert.Equal(1, total);
        var task = body[id]!;
        Assert.Equal(id, task["uuid"]!.GetValue<string>());
        Assert.Equal("tasks.echo", task["name"]!.GetValue<string>());
        Assert.Equal(marker, task["args"]![0]!.GetValue<string>());
        Assert.Equal(marker, task["result"]!.GetValue<string>());
        Assert.True(task["received"]!.GetValue<double>() <= task["started"]!.GetValue<double>());
        Assert.True(task["started"]!.GetValue<double>() <= task["succeeded"]!.GetValue<double>());
        Assert.True(task["runtime"]!.GetValue<double>() >= 0);
        Assert.StartsWith("worker@", task["worker"]!.GetValue<string>());
        Assert.Equal(0, task["retries"]!.GetValue<int>());
        foreach (var field in new[] { "kwargs", "failed", "retried", "revoked", "exception", "traceback", "eta", "expires" })
            Assert.True(((JsonObject)task).ContainsKey(field), $"the task has no '{field}'");
    }

    [Theory]
    [InlineData("api/tasks?limit=-1", "limit")]
    [InlineData("api/tasks?limit=ten", "limit")]
    [InlineData("api/tasks?offset=-3", "offset")]
    [InlineData("api/tasks?sort_by=nonsense", "sort_by")]
    [InlineData("api/tasks?state=DONE", "state")]
    [InlineData("api/tasks?received_start=yesterday", "received_start")]
    [InlineData("api/tasks?received_end=2026-13-45%2099:99", "received_end")]
    [InlineData("api/workers?refresh=maybe", "refresh")]
    [InlineData("api/workers?status=perhaps", "status")]
    public async Task Bad_parameters_are_answered_400_naming_the_parameter(string path, string parameter)
    {
        var (status, body, _) = await GetAsync(path);
        Assert.Equal(400, status);
        Assert.Equal(parameter, body!["parameter"]!.GetValue<string>());
        Assert.Contains(parameter, body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unknown_ids_and_workers_are_answered_404()
    {
        Assert.Equal(404, (await GetAsync("api/task/events/no-such-task")).Status);
        Assert.Equal(404, (await GetAsync("api/workers?workername=no-such-worker")).Status);
        var (status, body) = await Node.PostAsync("api/task/abort/no-such-task", null);
        Assert.Equal(404, status);
        Assert.Contains("no-such-task", body!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_tasks_events_are_its_timeline_oldest_first()
    {
        var id = await Standalone.SendAsync("tasks.add", new { args = new[] { 20, 22 } });
        await Standalone.ResultAsync(id, Deadline);
        // The journal sweep may record the journaled events before the live feed brings task-sent and task-started.
        var (events, _) = await EventuallyAsync($"api/task/events/{id}", (b, _) => b.AsArray().Count == 4);
        var types = events.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToArray();
        Assert.Equal(["task-sent", "task-received", "task-started", "task-succeeded"], types);
        var times = events.AsArray().Select(e => e!["timestamp"]!.GetValue<double>()).ToArray();
        Assert.Equal(times.Order(), times);
        var succeeded = events.AsArray().Last()!;
        Assert.Equal(42, succeeded["result"]!.GetValue<int>());
        Assert.Equal("SUCCESS", succeeded["state"]!.GetValue<string>());
        Assert.Equal(id, succeeded["uuid"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_standalone_worker_is_online_with_its_figures()
    {
        var (workers, _) = await EventuallyAsync("api/workers", (b, _) => b.AsObject().Count > 0);
        var (name, worker) = workers.AsObject().Single();
        Assert.StartsWith("worker@", name);
        Assert.True(worker!["status"]!.GetValue<bool>());
        Assert.Equal(2, worker["concurrency"]!.GetValue<int>());
        Assert.Equal("default", worker["active_queues"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(3, worker["loadavg"]!.AsArray().Count);
        Assert.Equal("ActorJobs", worker["sw_ident"]!.GetValue<string>());

        var (_, status, _) = await GetAsync("api/workers?status=true");
        Assert.True(status!.AsObject().Single().Value!.GetValue<bool>());
        var (code, refreshed, _) = await GetAsync($"api/workers?refresh=true&workername={Uri.EscapeDataString(name)}");
        Assert.Equal(200, code);
        Assert.Equal(name, refreshed!.AsObject().Single().Key);
    }

    [Fact]
    public async Task Queue_lengths_answer_the_default_queue()
    {
        var (status, body, _) = await GetAsync("api/queues/length");
        Assert.Equal(200, status);
        var queue = body!["active_queues"]!.AsArray().Single(q => q!["name"]!.GetValue<string>() == "default")!;
        Assert.True(queue["messages"]!.GetValue<int>() >= 0);
    }

    [Fact]
    public async Task Abort_revokes_a_running_task_with_terminate()
    {
        var id = await Standalone.SendAsync("tasks.sleep", new { args = new[] { 30 } });
        await EventuallyAsync($"api/task/info/{id}", (b, _) => b["state"]!.GetValue<string>() == "STARTED");
        var (status, body) = await Node.PostAsync($"api/task/abort/{id}", null);
        Assert.Equal(200, status);
        Assert.Equal("REVOKED", body!["state"]!.GetValue<string>());
        var result = await Standalone.ResultAsync(id, Deadline);
        Assert.Equal("REVOKED", result["state"]!.GetValue<string>());
        await EventuallyAsync($"api/tasks?search={id}", (b, _) => b[id]?["state"]?.GetValue<string>() == "REVOKED");
    }

    [Fact]
    public async Task Metrics_expose_task_counters_runtimes_queues_workers_and_members()
    {
        var id = await Standalone.SendAsync("tasks.add", new { args = new[] { 1, 1 } });
        await Standalone.ResultAsync(id, Deadline);
        var deadline = DateTime.UtcNow + Deadline;
        string text;
        do
        {
            using var response = await Node.Http!.GetAsync("metrics");
            Assert.Equal(200, (int)response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString());
            text = await response.Content.ReadAsStringAsync();
        }
        // The worker's runtime and the index's count are recorded a moment apart; wait for both.
        while (!(text.Contains("jobs_task_runtime_seconds_count{name=\"tasks.add\"}")
                 && Regex.IsMatch(text, @"jobs_task_index_tasks\{name=""tasks.add"",state=""SUCCESS""\} [1-9]"))
               && DateTime.UtcNow < deadline && await Delay());
        Assert.Matches(@"jobs_tasks_total\{name=""tasks.add"",state=""SUCCESS""\} [1-9]", text);
        Assert.Matches(@"jobs_task_runtime_seconds_bucket\{name=""tasks.add"",le=""\+Inf""\} [1-9]", text);
        Assert.Contains("jobs_task_runtime_seconds_sum{name=\"tasks.add\"}", text);
        Assert.Matches(@"jobs_task_index_tasks\{name=""tasks.add"",state=""SUCCESS""\} [1-9]", text);
        Assert.Matches(@"jobs_queue_length\{queue=""default""\} \d+", text);
        Assert.Matches(@"jobs_queue_partition_length\{queue=""default"",node=""akka\.tcp://jobs@127\.0\.0\.1:\d+""\} \d+", text);
        Assert.Contains("jobs_workers_online 1", text);
        Assert.Contains("jobs_cluster_members{status=\"Up\"} 1", text);
        Assert.Contains("# TYPE jobs_task_runtime_seconds histogram", text);
        Assert.Contains("# TYPE jobs_dead_letters_total counter", text);
        Assert.Matches(@"\njobs_http_waiting_requests \d+\n", text);
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }

    [Fact]
    public async Task The_event_stream_pushes_a_tasks_lifecycle_in_batches()
    {
        using var http = new HttpClient { BaseAddress = Node.Http!.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var cancel = new CancellationTokenSource(Deadline);
        using var response = await http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancel.Token));
        Assert.Equal(": connected", await reader.ReadLineAsync(cancel.Token));

        var id = await Standalone.SendAsync("tasks.add", new { args = new[] { 2, 3 } });
        var seen = new List<JsonNode>();
        string? kind = null;
        var sawWorkers = false;
        while (!seen.Any(e => e["type"]!.GetValue<string>() == "task-succeeded"))
        {
            var line = await reader.ReadLineAsync(cancel.Token) ?? throw new InvalidOperationException("the stream ended");
            if (line.StartsWith("event: "))
                kind = line["event: ".Length..];
            else if (line.StartsWith("data: "))
            {
                var batch = JsonNode.Parse(line["data: ".Length..])!.AsArray();
                if (kind == "workers")
                    sawWorkers |= batch.All(w => w!["type"]!.GetValue<string>().StartsWith("worker-"));
                else
                    seen.AddRange(batch.Where(e => e!["uuid"]!.GetValue<string>() == id).Select(e => e!));
            }
        }
        Assert.Equal(["task-sent", "task-received", "task-started", "task-succeeded"], seen.Select(e => e["type"]!.GetValue<string>()));
        var succeeded = seen.Last();
        Assert.Equal(("tasks.add", "SUCCESS", 5), (succeeded["name"]!.GetValue<string>(), succeeded["state"]!.GetValue<string>(), succeeded["result"]!.GetValue<int>()));
        Assert.Equal(2, succeeded["args"]![0]!.GetValue<int>());
        Assert.StartsWith("worker@", succeeded["hostname"]!.GetValue<string>());
        Assert.True(succeeded["timestamp"]!.GetValue<double>() > 1_700_000_000);

        // Heartbeats come every 2 s: the same stream carries them as "workers" messages.
        while (!sawWorkers)
        {
            var line = await reader.ReadLineAsync(cancel.Token) ?? throw new InvalidOperationException("the stream ended");
            if (line.StartsWith("event: "))
                kind = line["event: ".Length..];
            else if (line.StartsWith("data: ") && kind == "workers")
                sawWorkers = JsonNode.Parse(line["data: ".Length..])!.AsArray().Any(w => w!["type"]!.GetValue<string>() == "worker-heartbeat");
        }
    }

    [Fact]
    public async Task Filters_and_paging_over_a_thousand_tasks_count_and_order_correctly()
    {
        var marker = "page-" + Guid.NewGuid().ToString("N")[..8];
        var ids = new string[1000];
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            ids[i] = i % 10 == 9
                ? await Standalone.SendAsync("tasks.fail", new { args = new[] { $"{marker}-{i}" } })
                : await Standalone.SendAsync("tasks.echo", new { args = new[] { $"{marker}-{i}" } });
        });
        var finished = $"api/tasks?search={marker}&state=SUCCESS,FAILURE&limit=1";
        await EventuallyAsync(finished, (_, total) => total == 1000, TimeSpan.FromSeconds(90));

        var (_, failed) = await EventuallyAsync($"api/tasks?search={marker}&state=FAILURE&limit=1", (_, _) => true);
        Assert.Equal(100, failed);
        var (_, echoes) = await EventuallyAsync($"api/tasks?search={marker}&taskname=tasks.echo&limit=1", (_, _) => true);
        Assert.Equal(900, echoes);
        var (workers, _) = await EventuallyAsync("api/workers?status=true", (b, _) => b.AsObject().Count > 0);
        var worker = workers.AsObject().Single().Key;
        var (_, onWorker) = await EventuallyAsync($"api/tasks?search={marker}&workername={Uri.EscapeDataString(worker)}&limit=1", (_, _) => true);
        Assert.Equal(1000, onWorker);
        var (_, inPast) = await EventuallyAsync($"api/tasks?search={marker}&received_end=2001-01-01%2000:00&limit=1", (_, _) => true);
        Assert.Equal(0, inPast);
        var window = $"received_start={DateTime.UtcNow.AddHours(-1):yyyy-MM-dd HH:mm}&received_end={DateTime.UtcNow.AddHours(1):yyyy-MM-dd HH:mm}";
        var (_, inWindow) = await EventuallyAsync($"api/tasks?search={marker}&{window}&limit=1", (_, _) => true);
        Assert.Equal(1000, inWindow);

        // Ten pages of 100, oldest first: every task exactly once, received times never decreasing.
        var paged = new List<JsonNode>();
        for (var offset = 0; offset < 1000; offset += 100)
        {
            var (status, page, total) = await GetAsync($"api/tasks?search={marker}&sort_by=received&limit=100&offset={offset}");
            Assert.Equal(200, status);
            Assert.Equal(1000, total);
            Assert.Equal(100, page!.AsObject().Count);
            paged.AddRange(page.AsObject().Select(kv => kv.Value!));
        }
        Assert.Equal(ids.Order(), paged.Select(t => t["uuid"]!.GetValue<string>()).Order());
        var received = paged.Select(t => t["received"]!.GetValue<double>()).ToArray();
        Assert.Equal(received.Order(), received);
        var (_, beyond, beyondTotal) = await GetAsync($"api/tasks?search={marker}&offset=1000&limit=100");
        Assert.Empty(beyond!.AsObject());
        Assert.Equal(1000, beyondTotal);

        // Newest first is the exact reverse; by name, every tasks.echo precedes every tasks.fail.
        var (_, newest, _) = await GetAsync($"api/tasks?search={marker}&sort_by=-received&limit=1000");
        Assert.Equal(paged.Select(t => t["uuid"]!.GetValue<string>()).Reverse(), newest!.AsObject().Select(kv => kv.Key));
        var (_, byName, _) = await GetAsync($"api/tasks?search={marker}&sort_by=name&limit=1000");
        var names = byName!.AsObject().Select(kv => kv.Value!["name"]!.GetValue<string>()).ToArray();
        Assert.Equal(Enumerable.Repeat("tasks.echo", 900).Concat(Enumerable.Repeat("tasks.fail", 100)), names);
        var (_, byRuntime, _) = await GetAsync($"api/tasks?search={marker}&sort_by=-runtime&limit=1000");
        var runtimes = byRuntime!.AsObject().Select(kv => kv.Value!["runtime"]!.GetValue<double>()).ToArray();
        Assert.Equal(runtimes.OrderDescending(), runtimes);
    }
}
