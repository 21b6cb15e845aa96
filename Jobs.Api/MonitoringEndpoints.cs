using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Jobs.Actors.Client;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;

namespace Jobs.Api;

/// <summary>
/// Flower's monitoring API over this node's <see cref="JobsMonitor"/>: workers, the task index (paged, with
/// <c>X-Total-Count</c>), a task's event timeline, queue lengths, abort, Prometheus metrics and the live SSE stream.
/// </summary>
public static class MonitoringEndpoints
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);

    public static IEndpointRouteBuilder MapMonitoringEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("monitoring");
        api.MapGet("/workers", Workers)
            .WithSummary("Workers by hostname (?workername=, ?refresh=true asks them now, ?status=true answers only online or not)");
        api.MapGet("/tasks", Tasks)
            .WithSummary("Tasks by uuid in the requested order (limit, offset, sort_by, workername, taskname, state, received_start, received_end, search); X-Total-Count holds the filtered total");
        api.MapGet("/task/events/{id}", TaskEvents)
            .WithSummary("A task's events, oldest first");
        api.MapPost("/task/abort/{id}", Abort)
            .WithSummary("Aborts a task: revoke with terminate (a running attempt is cancelled and its slot freed)");
        api.MapGet("/queues/length", QueueLengths)
            .WithSummary("Messages waiting in each known queue");
        api.MapGet("/events", Events)
            .WithSummary("Server-sent events: 'tasks' and 'workers' messages, each a JSON array of events, batched");
        app.MapGet("/metrics", Metrics).WithTags("monitoring").WithSummary("Prometheus metrics");
        return app;
    }

    private static async Task<IResult> Workers(HttpContext http, JobsNode node, JobsMonitor monitor)
    {
        var query = http.Request.Query;
        var refresh = Flag(query, "refresh");
        var statusOnly = Flag(query, "status");
        var workername = query["workername"].ToString();
        var known = await monitor.Ref.Ask<WorkerList>(GetWorkers.Instance, AskTimeout, http.RequestAborted);
        var fresh = refresh ? await AllWorkerStatsAsync(node) : new Dictionary<string, WorkerStats>();
        var hostnames = known.Workers.Select(w => w.Last.Hostname).Union(fresh.Keys).Order(StringComparer.Ordinal).ToArray();
        if (workername.Length > 0)
        {
            if (!hostnames.Contains(workername))
                return Results.Json(new { error = $"Unknown worker '{workername}'" }, statusCode: 404);
            hostnames = [workername];
        }
        var views = known.Workers.ToDictionary(w => w.Last.Hostname);
        var result = new JsonObject();
        foreach (var hostname in hostnames)
        {
            var view = views.GetValueOrDefault(hostname);
            var stats = fresh.GetValueOrDefault(hostname);
            var online = stats is not null || view is { Online: true };
            result[hostname] = statusOnly ? online : Describe(hostname, view, stats, online);
        }
        return Results.Json(result);
    }

    /// <summary>Flower's worker shape (stats, active_queues, active, reserved) plus the latest heartbeat's figures.</summary>
    private static JsonObject Describe(string hostname, WorkerView? view, WorkerStats? stats, bool online)
    {
        var last = view?.Last;
        var concurrency = stats?.Concurrency ?? last?.Concurrency ?? 0;
        var prefetch = stats?.Prefetch ?? last?.Prefetch ?? 0;
        var queues = stats?.Queues ?? last?.Queues ?? [];
        var active = stats?.Active ?? last?.ActiveTasks ?? [];
        var succeeded = stats?.Succeeded ?? last?.Succeeded ?? 0;
        var failed = stats?.Failed ?? last?.Failed ?? 0;
        var retried = stats?.Retried ?? last?.Retried ?? 0;
        var reserved = stats?.Reserved.Count ?? last?.Reserved ?? 0;
        var uptime = stats?.Uptime ?? last?.Uptime ?? 0;
        return new JsonObject
        {
            ["hostname"] = hostname,
            ["status"] = online,
            ["address"] = last?.Address,
            ["heartbeat"] = view is null ? null : MonitoringJson.Epoch(view.LastHeartbeat),
            ["timestamp"] = last is null ? null : MonitoringJson.Epoch(last.Timestamp),
            ["freq"] = last?.Freq,
            ["concurrency"] = concurrency,
            ["prefetch"] = prefetch,
            ["queues"] = Strings(queues),
            ["active"] = active.Count,
            ["reserved"] = reserved,
            ["processed"] = succeeded + failed,
            ["succeeded"] = succeeded,
            ["failed"] = failed,
            ["retried"] = retried,
            ["loadavg"] = last is null ? new JsonArray() : new JsonArray(last.Loadavg.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
            ["uptime"] = Math.Round(uptime, 1),
            ["sw_ident"] = last?.SwIdent,
            ["sw_ver"] = last?.SwVer,
            ["sw_sys"] = last?.SwSys,
            ["stats"] = new JsonObject
            {
                ["pool"] = new JsonObject { ["max-concurrency"] = concurrency },
                ["prefetch_count"] = prefetch,
                ["total"] = new JsonObject { ["succeeded"] = succeeded, ["failed"] = failed, ["retried"] = retried },
                ["uptime"] = Math.Round(uptime, 1),
            },
            ["active_queues"] = new JsonArray(queues.Select(q => (JsonNode?)new JsonObject { ["name"] = q }).ToArray()),
            ["active_tasks"] = new JsonArray(active.Select(id => (JsonNode?)new JsonObject { ["id"] = id }).ToArray()),
        };
    }

    /// <summary>Like Celery's inspect: every Up member with the shard role is asked at /user/worker; the silent are left out.</summary>
    private static async Task<Dictionary<string, WorkerStats>> AllWorkerStatsAsync(JobsNode node)
    {
        var cluster = Cluster.Get(node.System);
        var asks = cluster.State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(node.Settings.ShardRole) && !cluster.State.Unreachable.Contains(m))
            .Select(async m =>
            {
                try
                {
                    return await node.System.ActorSelection(new RootActorPath(m.Address) / "user" / "worker")
                        .Ask<WorkerStats>(GetWorkerStats.Instance, TimeSpan.FromSeconds(3));
                }
                catch (AskTimeoutException)
                {
                    return null;
                }
            });
        return (await Task.WhenAll(asks)).OfType<WorkerStats>().ToDictionary(s => s.Hostname);
    }

    private static async Task<IResult> Tasks(HttpContext http, JobsMonitor monitor)
    {
        var q = http.Request.Query;
        TaskQuery query;
        try
        {
            query = TaskQuery.Parse(Param(q, "limit"), Param(q, "offset"), Param(q, "sort_by"), Param(q, "workername"), Param(q, "taskname"),
                Param(q, "state"), Param(q, "received_start"), Param(q, "received_end"), Param(q, "search"));
        }
        catch (TaskQueryException e)
        {
            throw new BadRequestException(e.Message, e.Parameter);
        }
        var page = await monitor.Ref.Ask<TaskPage>(new GetTasks(query), AskTimeout, http.RequestAborted);
        var result = new JsonObject();
        foreach (var row in page.Tasks)
            result[row.Uuid] = Describe(row);
        http.Response.Headers["X-Total-Count"] = page.Total.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers.AccessControlExposeHeaders = "X-Total-Count";
        return Results.Json(result);
    }

    /// <summary>Flower's task shape; arguments and result are JSON values, times unix seconds, eta/expires ISO 8601.</summary>
    private static JsonObject Describe(TaskRow row) => new()
    {
        ["uuid"] = row.Uuid,
        ["name"] = row.Name,
        ["state"] = row.State,
        ["args"] = Json(row.Args),
        ["kwargs"] = Json(row.Kwargs),
        ["result"] = Json(row.Result),
        ["sent"] = row.Sent,
        ["received"] = row.Received,
        ["started"] = row.Started,
        ["succeeded"] = row.Succeeded,
        ["failed"] = row.Failed,
        ["retried"] = row.Retried,
        ["revoked"] = row.Revoked,
        ["timestamp"] = row.Updated,
        ["runtime"] = row.Runtime,
        ["worker"] = row.Worker,
        ["retries"] = row.Retries,
        ["queue"] = row.Queue,
        ["exception"] = row.Exception,
        ["traceback"] = row.Traceback,
        ["eta"] = Iso(row.Eta),
        ["expires"] = Iso(row.Expires),
    };

    private static async Task<IResult> TaskEvents(string id, HttpContext http, JobsMonitor monitor)
    {
        var timeline = await monitor.Ref.Ask<TaskTimeline>(new GetTaskTimeline(PathIds.Task(id)), AskTimeout, http.RequestAborted);
        if (timeline.Task is null)
            return Results.Json(new { error = $"Unknown task '{id}'" }, statusCode: 404);
        return Results.Json(new JsonArray(timeline.Events.Select(e => JsonNode.Parse(e)).ToArray()));
    }

    private static async Task<IResult> Abort(string id, TaskClient client, HttpContext http)
    {
        var info = await client.GetInfoAsync(PathIds.Task(id), http.RequestAborted);
        if (info.State == TaskState.Pending)
            return Results.Json(new { error = $"Unknown task '{id}'" }, statusCode: 404);
        var result = await client.RevokeAsync(id, terminate: true, http.RequestAborted);
        var message = info.State.IsReady() ? $"'{id}' was already {info.State.ToCelery()}" : $"Aborted '{id}'";
        return Results.Json(new JsonObject { ["message"] = message, ["state"] = result.State.ToCelery() });
    }

    private static async Task<IResult> QueueLengths(JobsNode node, JobsMonitor monitor, HttpContext http)
    {
        var stats = await QueueStatsAsync(node, monitor, http.RequestAborted);
        var queues = new JsonArray(stats.Select(s => (JsonNode?)new JsonObject { ["name"] = s.Queue, ["messages"] = s.Waiting }).ToArray());
        return Results.Json(new JsonObject { ["active_queues"] = queues });
    }

    /// <summary>The configured and routed queues and those workers consume, each asked for its length.</summary>
    private static async Task<IReadOnlyList<QueueStats>> QueueStatsAsync(JobsNode node, JobsMonitor monitor, CancellationToken cancel)
    {
        var workers = await monitor.Ref.Ask<WorkerList>(GetWorkers.Instance, AskTimeout, cancel);
        var names = node.Settings.Queues.Concat(node.Settings.Routes.Queues).Concat(workers.Workers.SelectMany(w => w.Last.Queues))
            .Distinct().Order(StringComparer.Ordinal).ToArray();
        var asks = names.Select(name => node.Queues.Ask<QueueStats>(new GetQueueStats(name), AskTimeout, cancel));
        return await Task.WhenAll(asks);
    }

    private static async Task<IResult> Metrics(JobsNode node, JobsMonitor monitor, HttpContext http, RequestLimits limits, DeadLetterCounts deadLetters)
    {
        var cancel = http.RequestAborted;
        var text = new StringBuilder();
        monitor.Metrics.WriteTo(text);
        monitor.BeatMetrics.WriteTo(text);

        var counts = await monitor.Ref.Ask<TaskCounts>(GetTaskCounts.Instance, AskTimeout, cancel);
        text.AppendLine("# HELP jobs_task_index_tasks Tasks in this node's task index, by task name and current state.");
        text.AppendLine("# TYPE jobs_task_index_tasks gauge");
        foreach (var (name, taskState, count) in counts.Counts)
            text.Append("jobs_task_index_tasks{name=\"").Append(TaskMetrics.Escape(name)).Append("\",state=\"").Append(taskState).Append("\"} ").Append(count).Append('\n');

        var queues = await QueueStatsAsync(node, monitor, cancel);
        text.AppendLine("# HELP jobs_queue_length Tasks waiting in a queue, over every node's partition.");
        text.AppendLine("# TYPE jobs_queue_length gauge");
        foreach (var queue in queues)
            text.Append("jobs_queue_length{queue=\"").Append(TaskMetrics.Escape(queue.Queue)).Append("\"} ").Append(queue.Waiting).Append('\n');
        text.AppendLine("# HELP jobs_queue_leased Tasks of a queue handed to workers and not yet finished, over every node's partition.");
        text.AppendLine("# TYPE jobs_queue_leased gauge");
        foreach (var queue in queues)
            text.Append("jobs_queue_leased{queue=\"").Append(TaskMetrics.Escape(queue.Queue)).Append("\"} ").Append(queue.Leased).Append('\n');
        text.AppendLine("# HELP jobs_queue_partition_length Tasks waiting in one node's partition of a queue.");
        text.AppendLine("# TYPE jobs_queue_partition_length gauge");
        foreach (var queue in queues)
        foreach (var partition in queue.Partitions ?? [])
            text.Append("jobs_queue_partition_length{queue=\"").Append(TaskMetrics.Escape(queue.Queue)).Append("\",node=\"")
                .Append(TaskMetrics.Escape(partition.Node)).Append("\"} ").Append(partition.Waiting).Append('\n');
        text.AppendLine("# HELP jobs_queue_partition_leased Tasks of one node's partition of a queue handed to that node's workers and not yet finished.");
        text.AppendLine("# TYPE jobs_queue_partition_leased gauge");
        foreach (var queue in queues)
        foreach (var partition in queue.Partitions ?? [])
            text.Append("jobs_queue_partition_leased{queue=\"").Append(TaskMetrics.Escape(queue.Queue)).Append("\",node=\"")
                .Append(TaskMetrics.Escape(partition.Node)).Append("\"} ").Append(partition.Leased).Append('\n');

        var workers = await monitor.Ref.Ask<WorkerList>(GetWorkers.Instance, AskTimeout, cancel);
        text.AppendLine("# HELP jobs_workers_online Workers whose heartbeats arrive.");
        text.AppendLine("# TYPE jobs_workers_online gauge");
        text.Append("jobs_workers_online ").Append(workers.Workers.Count(w => w.Online)).Append('\n');
        text.AppendLine("# HELP jobs_worker_active_tasks Tasks running on a worker, as of its last heartbeat.");
        text.AppendLine("# TYPE jobs_worker_active_tasks gauge");
        foreach (var worker in workers.Workers.Where(w => w.Online))
            text.Append("jobs_worker_active_tasks{worker=\"").Append(TaskMetrics.Escape(worker.Last.Hostname)).Append("\"} ").Append(worker.Last.Active).Append('\n');

        var streams = await monitor.Ref.Ask<EventStreamCount>(GetEventStreamCount.Instance, AskTimeout, cancel);
        text.AppendLine("# HELP jobs_event_streams Live event streams (GET /api/events connections) this node feeds.");
        text.AppendLine("# TYPE jobs_event_streams gauge");
        text.Append("jobs_event_streams ").Append(streams.Count).Append('\n');
        text.AppendLine("# HELP jobs_http_waiting_requests Requests waiting for a result now (?timeout=, apply), of jobs.http.max-concurrent-waits.");
        text.AppendLine("# TYPE jobs_http_waiting_requests gauge");
        text.Append("jobs_http_waiting_requests ").Append(limits.Waiting).Append('\n');
        deadLetters.WriteTo(text);

        var state = Cluster.Get(node.System).State;
        text.AppendLine("# HELP jobs_cluster_members Cluster members as this node sees them, by status.");
        text.AppendLine("# TYPE jobs_cluster_members gauge");
        foreach (var group in state.Members.GroupBy(m => m.Status.ToString()).OrderBy(g => g.Key, StringComparer.Ordinal))
            text.Append("jobs_cluster_members{status=\"").Append(group.Key).Append("\"} ").Append(group.Count()).Append('\n');
        text.AppendLine("# HELP jobs_cluster_unreachable_members Members this node cannot reach.");
        text.AppendLine("# TYPE jobs_cluster_unreachable_members gauge");
        text.Append("jobs_cluster_unreachable_members ").Append(state.Unreachable.Count).Append('\n');
        return Results.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
    }

    /// <summary>
    /// The live stream: one subscriber actor per connection batches events; this handler only awaits its channel (no
    /// thread is held while idle), pings every interval, and stops the subscriber when the client goes away.
    /// </summary>
    private static async Task Events(HttpContext http, JobsNode node, JobsMonitor monitor, RequestLimits limits)
    {
        using var streaming = limits.Stream();
        var cancel = http.RequestAborted;
        http.Response.Headers.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        var (subscriber, messages) = EventStreams.Start(node.System, monitor.Ref, monitor.Settings);
        try
        {
            await http.Response.WriteAsync(": connected\n\n", cancel);
            await http.Response.Body.FlushAsync(cancel);
            while (!cancel.IsCancellationRequested)
            {
                using var ping = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                ping.CancelAfter(monitor.Settings.StreamPingInterval);
                bool more;
                try
                {
                    more = await messages.WaitToReadAsync(ping.Token);
                }
                catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
                {
                    await http.Response.WriteAsync(": ping\n\n", cancel);
                    await http.Response.Body.FlushAsync(cancel);
                    continue;
                }
                if (!more)
                    break;
                while (messages.TryRead(out var message))
                    await http.Response.WriteAsync(message, cancel);
                await http.Response.Body.FlushAsync(cancel);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
        }
        finally
        {
            node.System.Stop(subscriber);
        }
    }

    private static string? Param(IQueryCollection query, string name) => query.TryGetValue(name, out var value) ? value.ToString() : null;

    private static bool Flag(IQueryCollection query, string name)
    {
        var text = Param(query, name);
        return text switch
        {
            null or "" => false,
            _ when text.Equals("true", StringComparison.OrdinalIgnoreCase) || text == "1" || text.Equals("yes", StringComparison.OrdinalIgnoreCase) => true,
            _ when text.Equals("false", StringComparison.OrdinalIgnoreCase) || text == "0" || text.Equals("no", StringComparison.OrdinalIgnoreCase) => false,
            _ => throw new BadRequestException($"'{name}' must be true or false, not '{text}'", name),
        };
    }

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

    private static JsonNode? Json(string? text) => text is null ? null : JsonNode.Parse(text);

    private static string? Iso(double? epoch) =>
        epoch is { } seconds ? DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)).ToString("O") : null;
}
