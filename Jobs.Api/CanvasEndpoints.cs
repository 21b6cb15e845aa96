using System.Text.Json.Nodes;
using Jobs.Actors.Canvas;
using Jobs.Actors.Client;
using Jobs.Actors.Tasks;

namespace Jobs.Api;

/// <summary>Canvases over HTTP: Celery's signature JSON in, the ids of the root and its members out.</summary>
public static class CanvasEndpoints
{
    public static IEndpointRouteBuilder MapCanvasEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/canvas").WithTags("canvas");
        api.MapPost("/", Start).WithSummary("Starts a chain, group, chord, map, starmap or chunks given as Celery signature JSON");
        api.MapGet("/{id}", Get).WithSummary("The state, result and members of a canvas; with ?timeout= waits up to that many seconds");
        return app;
    }

    private static async Task<IResult> Start(HttpContext http, CanvasClient canvas)
    {
        var body = await JsonBody.ReadAsync(http) ?? throw new BadRequestException("the request body must be a signature");
        Signature root;
        try
        {
            root = CelerySignatures.Parse(body);
        }
        catch (FormatException e)
        {
            throw new BadRequestException(e.Message);
        }
        var handle = await canvas.ApplyAsync(root, http.RequestAborted);
        var callbacks = Callbacks(handle.Root!);
        return Results.Json(new JsonObject
        {
            ["task-id"] = handle.Id,
            ["children"] = new JsonArray(handle.Root!.Nodes().Where(n => n.Kind == SignatureKind.Task && !callbacks.Contains(n))
                .Select(n => (JsonNode?)JsonValue.Create(n.Id)).ToArray()),
            ["signature"] = CelerySignatures.ToJson(handle.Root!),
        });
    }

    /// <summary>Every node inside a link or link_error, found in one walk (a chord of 100,000 has as many nodes).</summary>
    private static HashSet<Signature> Callbacks(Signature root) =>
        new(root.Nodes().SelectMany(n => n.Link.Concat(n.LinkError)).SelectMany(l => l.Nodes()), ReferenceEqualityComparer.Instance);

    private static async Task<IResult> Get(string id, double? timeout, CanvasClient canvas, HttpContext http)
    {
        if (timeout is < 0 or > 3600)
            throw new BadRequestException("'timeout' must be between 0 and 3600 seconds", "timeout");
        var handle = canvas.Handle(id);
        CanvasResult result;
        var status = 200;
        if (timeout is > 0)
        {
            try
            {
                result = await handle.WaitAsync(TimeSpan.FromSeconds(timeout.Value), http.RequestAborted);
            }
            catch (TimeoutException)
            {
                result = await handle.GetStateAsync(http.RequestAborted);
                status = 408;
            }
        }
        else
        {
            result = await handle.GetStateAsync(http.RequestAborted);
        }
        var json = TaskEndpoints.Describe(new TaskResult(result.CanvasId, result.State, result.Result, result.Error));
        json["children"] = new JsonArray(result.Members.Select(m => (JsonNode?)new JsonObject
        {
            ["task-id"] = m.TaskId, ["task"] = m.Task, ["state"] = m.State.ToCelery(),
        }).ToArray());
        return Results.Json(json, statusCode: status);
    }
}
