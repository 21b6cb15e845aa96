using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Actors.Control;
using Jobs.Actors.Hosting;
using Jobs.Actors.Workers;

namespace Jobs.Api;

/// <summary>
/// Flower's worker and task control over HTTP, on the same paths, carried out by <see cref="WorkerControl"/> as the
/// CLI's <c>control</c> palette is. Parameters come from the query string, a form or a JSON object. Answer:
/// <c>{"message": …, "workers": {"w1": {"ok": …}}}</c>; a bad parameter or a refusing worker is a 400, an unknown
/// worker or task a 404.
/// </summary>
public static class WorkerEndpoints
{
    public static IEndpointRouteBuilder MapWorkerEndpoints(this IEndpointRouteBuilder app)
    {
        var task = app.MapGroup("/api/task").WithTags("control");
        task.MapPost("/timeout/{name}", TimeLimit).AcceptsParameters<TimeLimitBody>()
            .WithSummary("Sets a task type's soft and hard time limits (seconds, 0 = none); workername narrows it to one worker");
        task.MapPost("/rate-limit/{name}", RateLimit).AcceptsParameters<RateLimitBody>()
            .WithSummary("Sets a task type's rate limit (10/s, 100/m, 1000/h; 0 lifts it); workername narrows it to one worker");
        var worker = app.MapGroup("/api/worker").WithTags("control");
        worker.MapPost("/shutdown/{name}", (string name, JobsNode node) => SendAsync(node, ShutdownWorker.Instance, name))
            .WithSummary("Drains the worker, then its node leaves the cluster");
        worker.MapPost("/pool/grow/{name}", (string name, HttpContext http, JobsNode node) => ResizeAsync(name, http, node, grow: true)).AcceptsParameters<PoolBody>()
            .WithSummary("Runs n more task bodies at once (n defaults to 1)");
        worker.MapPost("/pool/shrink/{name}", (string name, HttpContext http, JobsNode node) => ResizeAsync(name, http, node, grow: false)).AcceptsParameters<PoolBody>()
            .WithSummary("Runs n fewer task bodies at once (n defaults to 1)");
        worker.MapPost("/queue/add-consumer/{name}", (string name, HttpContext http, JobsNode node) => ConsumerAsync(name, http, node, add: true)).AcceptsParameters<ConsumerBody>()
            .WithSummary("The worker starts taking tasks from ?queue=");
        worker.MapPost("/queue/cancel-consumer/{name}", (string name, HttpContext http, JobsNode node) => ConsumerAsync(name, http, node, add: false)).AcceptsParameters<ConsumerBody>()
            .WithSummary("The worker stops taking tasks from ?queue=");
        return app;
    }

    private static async Task<IResult> TimeLimit(string name, HttpContext http, JobsNode node)
    {
        var parameters = await ParametersAsync(http);
        var control = new WorkerControl(node);
        control.RequireTask(name);
        var limit = WorkerControl.TimeLimit(name,
            WorkerControl.ParseSeconds(parameters.GetValueOrDefault("soft") ?? "0", "soft"),
            WorkerControl.ParseSeconds(parameters.GetValueOrDefault("hard") ?? "0", "hard"));
        return await SendAsync(node, limit, parameters.GetValueOrDefault("workername"));
    }

    private static async Task<IResult> RateLimit(string name, HttpContext http, JobsNode node)
    {
        var parameters = await ParametersAsync(http);
        var rate = parameters.GetValueOrDefault("ratelimit") ?? throw new BadRequestException("give 'ratelimit', e.g. 10/s", "ratelimit");
        var parsed = WorkerControl.ParseRate(rate);
        new WorkerControl(node).RequireTask(name);
        return await SendAsync(node, new SetRateLimit(name, parsed), parameters.GetValueOrDefault("workername"));
    }

    private static async Task<IResult> ResizeAsync(string worker, HttpContext http, JobsNode node, bool grow)
    {
        var n = WorkerControl.ParseCount((await ParametersAsync(http)).GetValueOrDefault("n") ?? "1");
        return await SendAsync(node, new ResizePool(grow ? n : -n), worker);
    }

    private static async Task<IResult> ConsumerAsync(string worker, HttpContext http, JobsNode node, bool add)
    {
        var queue = WorkerControl.ParseQueue((await ParametersAsync(http)).GetValueOrDefault("queue"));
        return await SendAsync(node, add ? new AddConsumer(queue) : new CancelConsumer(queue), worker);
    }

    private static async Task<IResult> SendAsync(JobsNode node, IWorkerControlCommand command, string? worker)
    {
        var replies = await new WorkerControl(node).SendAsync(command, string.IsNullOrEmpty(worker) ? null : worker);
        var errors = replies.Where(r => r.Value?["error"] is not null).ToArray();
        var message = errors.Length > 0
            ? string.Join("; ", errors.Select(e => $"{e.Key}: {e.Value!["error"]!.GetValue<string>()}"))
            : replies.Select(r => r.Value!["ok"]!.GetValue<string>()).First();
        return Results.Json(new JsonObject { [errors.Length > 0 ? "error" : "message"] = message, ["workers"] = replies },
            statusCode: errors.Length > 0 ? 400 : 200);
    }

    /// <summary>The query string, then a form or a JSON object body (Flower's clients send either).</summary>
    private static async Task<Dictionary<string, string>> ParametersAsync(HttpContext http)
    {
        var parameters = http.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString());
        if (http.Request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await http.Request.ReadFormAsync(http.RequestAborted);
            }
            catch (Exception e) when (e is InvalidDataException or (IOException and not BadHttpRequestException) && !http.RequestAborted.IsCancellationRequested)
            {
                // Found by the HTTP fuzzer: a multipart body that is not one was a 500.
                throw new BadRequestException($"the body is not a well-formed {http.Request.ContentType}: {e.Message}");
            }
            foreach (var (key, value) in form)
                parameters[key] = value.ToString();
        }
        else if (await JsonBody.ReadAsync(http) is { } body)
        {
            if (body.ValueKind != JsonValueKind.Object)
                throw new BadRequestException("the body must be a JSON object");
            foreach (var property in body.EnumerateObject())
                parameters[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
        }
        return parameters;
    }
}
