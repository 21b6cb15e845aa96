using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Jobs.Actors.Client;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Tasks;

namespace Jobs.Api;

/// <summary>Flower's task API on the HTTP facade: the same paths and JSON shapes, so Flower clients keep working.</summary>
public static class TaskEndpoints
{
    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/task").WithTags("tasks");
        api.MapPost("/async-apply/{name}", AsyncApply).AcceptsJson<ApplyBody>()
            .WithSummary("Sends a registered task; answers its id once it is journaled");
        api.MapPost("/send-task/{name}", SendTask).AcceptsJson<ApplyBody>()
            .WithSummary("Sends a task by name without checking that a worker knows it (Celery's send_task)");
        api.MapPost("/apply/{name}", Apply).AcceptsJson<ApplyBody>()
            .WithSummary("Sends a registered task and waits for its result");
        api.MapGet("/result/{id}", GetResult)
            .WithSummary("The state and result of a task; with ?timeout= waits up to that many seconds for it");
        api.MapDelete("/result/{id}", Forget)
            .WithSummary("Forgets a finished task's result now (Celery's AsyncResult.forget()); 409 for a task not finished");
        api.MapPost("/revoke/{id}", Revoke)
            .WithSummary("Revokes a task (persistent, cluster-wide); ?terminate=true also frees a running attempt's slot");
        api.MapGet("/info/{id}", GetInfo)
            .WithSummary("Everything known about a task");
        api.MapGet("/types", (ITaskCatalog catalog) =>
                Results.Json(new JsonObject { ["task-types"] = new JsonArray(catalog.Names.Select(n => JsonValue.Create(n)).ToArray<JsonNode?>()) }))
            .WithSummary("The task names the cluster's workers register");
        app.MapGet("/healthcheck", () => Results.Text("OK")).WithTags("health");
        return app;
    }

    private static Task<IResult> AsyncApply(string name, HttpContext http, ITaskCatalog catalog, TaskClient client) =>
        Submit(name, http, catalog, client, checkRegistered: true);

    private static Task<IResult> SendTask(string name, HttpContext http, ITaskCatalog catalog, TaskClient client) =>
        Submit(name, http, catalog, client, checkRegistered: false);

    private static async Task<IResult> Submit(string name, HttpContext http, ITaskCatalog catalog, TaskClient client, bool checkRegistered)
    {
        var request = await ReadAsync(name, http, catalog, checkRegistered);
        var sent = await client.SendTaskAsync(name, request.Args, request.Kwargs, request.Options, http.RequestAborted);
        return Results.Json(new JsonObject { ["task-id"] = sent.TaskId, ["state"] = sent.State.ToCelery() });
    }

    private static async Task<IResult> Apply(string name, HttpContext http, ITaskCatalog catalog, TaskClient client, JobsHttpSettings settings,
        RequestLimits limits)
    {
        var request = await ReadAsync(name, http, catalog, checkRegistered: true);
        using var waiting = limits.Wait();
        var options = request.Options with { TaskId = request.Options.TaskId ?? TaskIds.New() };
        try
        {
            var result = await client.ApplyAsync(name, request.Args, request.Kwargs, options, settings.ApplyTimeout, http.RequestAborted);
            return Results.Json(Describe(result));
        }
        catch (AskTimeoutException)
        {
            return Results.Json(new JsonObject { ["task-id"] = options.TaskId, ["state"] = "PENDING",
                ["error"] = $"no result within {settings.ApplyTimeout.TotalSeconds:0.###} s; the task still runs" }, statusCode: 408);
        }
    }

    private static async Task<IResult> GetResult(string id, double? timeout, TaskClient client, HttpContext http, RequestLimits limits)
    {
        var wait = limits.Timeout(timeout);
        var handle = client.AsyncResult(PathIds.Task(id));
        if (wait is { } span)
        {
            using var waiting = limits.Wait();
            try
            {
                return Results.Json(Describe(await handle.WaitAsync(span, http.RequestAborted)));
            }
            catch (TimeoutException)
            {
                await handle.GetStateAsync(http.RequestAborted);
                return Results.Json(Describe(handle.Last!), statusCode: 408);
            }
        }
        await handle.GetStateAsync(http.RequestAborted);
        return Results.Json(Describe(handle.Last!));
    }

    private static async Task<IResult> Revoke(string id, bool? terminate, TaskClient client, HttpContext http)
    {
        var result = await client.RevokeAsync(PathIds.Task(id), terminate ?? false, http.RequestAborted);
        var message = result.State == TaskState.Revoked ? $"Revoked '{id}'" : $"'{id}' was already {result.State.ToCelery()}";
        return Results.Json(new JsonObject { ["message"] = message, ["state"] = result.State.ToCelery() });
    }

    private static async Task<IResult> Forget(string id, TaskClient client, HttpContext http)
    {
        var forgotten = await client.ForgetAsync(PathIds.Task(id), http.RequestAborted);
        return forgotten is ForgetRefused refused
            ? Results.Json(new JsonObject { ["error"] = refused.State == TaskState.Pending
                ? $"task '{id}' is not known (or its result expired already)"
                : $"task '{id}' is {refused.State.ToCelery()}: only a finished task's result can be forgotten", ["state"] = refused.State.ToCelery() },
                statusCode: refused.State == TaskState.Pending ? 404 : 409)
            : Results.Json(new JsonObject { ["message"] = $"Forgot the result of '{id}'", ["state"] = "PENDING" });
    }

    private static async Task<IResult> GetInfo(string id, TaskClient client, HttpContext http)
    {
        var info = await client.GetInfoAsync(PathIds.Task(id), http.RequestAborted);
        if (info.ResultExpired)
            return Results.Json(new JsonObject
            {
                ["error"] = $"The result of task '{id}' expired at {info.ResultExpires:O}",
                ["uuid"] = info.TaskId,
                ["state"] = "PENDING",
                ["expired"] = true,
                ["result_expires"] = info.ResultExpires?.ToString("O"),
            }, statusCode: 404);
        if (info.State == TaskState.Pending)
            return Results.Json(new { error = $"Unknown task '{id}'" }, statusCode: 404);
        return Results.Json(new JsonObject
        {
            ["uuid"] = info.TaskId,
            ["name"] = info.Name,
            ["state"] = info.State.ToCelery(),
            ["args"] = MonitoringJson.Node(info.Args),
            ["kwargs"] = MonitoringJson.Node(info.Kwargs),
            ["queue"] = info.Queue,
            ["retries"] = info.Retries,
            ["received"] = Epoch(info.Received),
            ["eta"] = info.Eta?.ToString("O"),
            ["expires"] = info.Expires?.ToString("O"),
            ["started"] = Epoch(info.Started),
            ["succeeded"] = info.State == TaskState.Success ? Epoch(info.Finished) : null,
            ["failed"] = info.State == TaskState.Failure ? Epoch(info.Finished) : null,
            ["revoked"] = info.State == TaskState.Revoked ? Epoch(info.Finished) : null,
            ["runtime"] = info.Runtime,
            ["worker"] = info.Worker,
            ["result"] = info.State == TaskState.Success ? MonitoringJson.Node(info.Result) : null,
            ["exception"] = info.Error is { } error ? Repr(error) : null,
            ["traceback"] = info.Error?.Traceback,
            ["revoked_reason"] = info.RevokedReason,
            ["result_expires"] = info.ResultExpires?.ToString("O"),
        });
    }

    /// <summary>Reads and checks the body, and the task's arguments where this node has the task's code.</summary>
    private static async Task<ApplyRequest> ReadAsync(string name, HttpContext http, ITaskCatalog catalog, bool checkRegistered)
    {
        if (checkRegistered && !catalog.IsRegistered(name))
            throw new UnknownTaskException(name);
        var body = await JsonBody.ReadAsync(http);
        var request = body is { } json ? ApplyRequest.From(json, DateTimeOffset.UtcNow) : ApplyRequest.Empty;
        if (catalog.LocalDefinition(name) is { } definition)
        {
            try
            {
                definition.Bind(request.Args, request.Kwargs);
            }
            catch (TaskArgumentException e)
            {
                throw new BadRequestException(e.Message, e.ParameterName);
            }
        }
        return request;
    }

    /// <summary>Flower's result shape: result on success, the exception's repr and traceback on failure.</summary>
    public static JsonObject Describe(TaskResult result)
    {
        var json = new JsonObject { ["task-id"] = result.TaskId, ["state"] = result.State.ToCelery() };
        switch (result.State)
        {
            case TaskState.Success:
                json["result"] = MonitoringJson.Node(result.Result);
                break;
            case TaskState.Failure:
            case TaskState.Retry:
                json["result"] = result.Error is { } error ? Repr(error) : null;
                json["traceback"] = result.Error?.Traceback;
                break;
            case TaskState.Revoked:
                json["result"] = "TaskRevokedError()";
                break;
            default:
                json["result"] = null;
                break;
        }
        return json;
    }

    private static string Repr(TaskError error) => $"{error.Type}({JsonSerializer.Serialize(error.Message)})";

    private static double? Epoch(DateTimeOffset? time) => time?.ToUnixTimeMilliseconds() / 1000.0;
}

/// <summary>A task name no worker registers: 404, naming it.</summary>
public sealed class UnknownTaskException(string name) : Exception($"Unknown task '{name}': no worker registers it")
{
    public string TaskName { get; } = name;
}
