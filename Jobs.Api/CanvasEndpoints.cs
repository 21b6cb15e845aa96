using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Microsoft.AspNetCore.Mvc;
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
        api.MapPost("/", Start).AcceptsJson<SignatureBody>().WithSummary("Starts a chain, group, chord, map, starmap or chunks given as Celery signature JSON");
        api.MapGet("/{id}", Get).WithSummary(
            "The state, result and members of a canvas; with ?timeout= waits up to that many seconds; members paged by ?children_offset=&children_limit= (default 1000)");
        api.MapGet("/{id}/tree", GetTree).WithSummary(
            "The canvas as a tree (chain, group, chord, task nodes) with each node's state, for drawing it; at most ?children_limit= (default 1000) children per node and jobs.http.max-tree-nodes in all, the rest counted by state in 'more'");
        return app;
    }

    /// <summary>
    /// Children lists are paged: a chord of 100,000 would otherwise answer every id on every call. Without
    /// <c>children_limit</c> a page holds <see cref="DefaultChildrenLimit"/>; <c>children_count</c> says how many there are.
    /// </summary>
    public const int DefaultChildrenLimit = 1000;

    private static (int Offset, int Limit) ChildrenPage(int? offset, int? limit, JobsHttpSettings settings)
    {
        if (offset is < 0)
            throw new BadRequestException("'children_offset' must be 0 or more", "children_offset");
        if (limit is < 0 || limit > settings.MaxChildrenLimit)
            throw new BadRequestException($"'children_limit' must be from 0 to {settings.MaxChildrenLimit} (jobs.http.max-children-limit)", "children_limit");
        return (offset ?? 0, limit ?? Math.Min(DefaultChildrenLimit, settings.MaxChildrenLimit));
    }

    private static async Task<IResult> Start(HttpContext http, CanvasClient canvas, JobsHttpSettings settings,
        [FromQuery(Name = "children_offset")] int? childrenOffset, [FromQuery(Name = "children_limit")] int? childrenLimit)
    {
        var (offset, limit) = ChildrenPage(childrenOffset, childrenLimit, settings);
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
        var options = new CanvasOptions { ResultExpires = ResultExpires(body) };
        CanvasHandle handle;
        try
        {
            handle = await canvas.ApplyAsync(root, options, http.RequestAborted);
        }
        catch (InvalidCanvasException e)
        {
            throw new BadRequestException(e.Message);
        }
        var callbacks = Callbacks(handle.Root!);
        var children = handle.Root!.Nodes().Where(n => n.Kind == SignatureKind.Task && !callbacks.Contains(n));
        var count = 0;
        var page = new JsonArray();
        foreach (var child in children)
        {
            if (count >= offset && count - offset < limit)
                page.Add(JsonValue.Create(child.Id));
            count++;
        }
        var answer = new JsonObject { ["task-id"] = handle.Id, ["children"] = page, ["children_count"] = count };
        // The tree with its ids is echoed only when the page holds every child: a big canvas's tree is GET .../tree.
        if (offset == 0 && count <= limit)
            answer["signature"] = CelerySignatures.ToJson(handle.Root!);
        return Results.Json(answer);
    }

    /// <summary>The root's <c>options.result_expires</c> (seconds; 0 keeps it for ever): the whole canvas's, as for a task's call.</summary>
    private static TimeSpan? ResultExpires(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("options", out var options) ||
            options.ValueKind != JsonValueKind.Object || !options.TryGetProperty("result_expires", out var value) ||
            value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || seconds < 0 || seconds > ApplyRequest.MaxSeconds)
            throw new BadRequestException($"'options.result_expires' must be a number of seconds from 0 to {ApplyRequest.MaxSeconds:0} (ten years)",
                "result_expires");
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Every node inside a link or link_error, found in one walk (a chord of 100,000 has as many nodes).</summary>
    private static HashSet<Signature> Callbacks(Signature root) =>
        new(root.Nodes().SelectMany(n => n.Link.Concat(n.LinkError)).SelectMany(l => l.Nodes()), ReferenceEqualityComparer.Instance);

    private static async Task<IResult> GetTree(string id, CanvasClient canvas, HttpContext http, JobsHttpSettings settings,
        [FromQuery(Name = "children_limit")] int? childrenLimit)
    {
        var (_, limit) = ChildrenPage(0, childrenLimit, settings);
        var tree = await canvas.Handle(PathIds.Task(id)).GetTreeAsync(http.RequestAborted);
        if (tree.Result.ResultExpired)
            return Results.Json(new JsonObject
            {
                ["error"] = $"Canvas '{id}' expired at {tree.Result.ResultExpires:O}",
                ["task-id"] = id,
                ["state"] = "PENDING",
                ["expired"] = true,
                ["result_expires"] = tree.Result.ResultExpires?.ToString("O"),
            }, statusCode: 404);
        if (tree.Root is null)
            return Results.Json(new { error = $"Unknown canvas '{id}'" }, statusCode: 404);
        var states = tree.Result.Members.ToDictionary(m => m.TaskId, m => m.State);
        var json = TaskEndpoints.Describe(new TaskResult(tree.CanvasId, tree.Result.State, tree.Result.Result, tree.Result.Error));
        json["root"] = new TreeDrawing(states, limit, settings.MaxTreeNodes).Node(tree.Root, tree.Result.State);
        return Results.Json(json);
    }

    /// <summary>
    /// Draws a tree within a budget: at most <paramref name="limit"/> children per node and <paramref name="budget"/>
    /// nodes in all, so a chord of 100,000 is not answered as one 50 MB document. A node whose children are cut says
    /// how many it has (<c>children_count</c>) and counts the tasks below those not drawn by state (<c>more</c>).
    /// </summary>
    private sealed class TreeDrawing(IReadOnlyDictionary<string, TaskState> states, int limit, int budget)
    {
        private int _left = budget;

        /// <summary>
        /// One node of the drawn tree. A task's state is the coordinator's (PENDING until its result arrives); a chain's,
        /// group's or chord's is summed up from its tasks, except the root's, which is the canvas's own outcome.
        /// Link callbacks are fire and forget, not members, so their state is unknown here (null).
        /// </summary>
        public JsonObject Node(Signature node, TaskState? own = null)
        {
            _left--;
            var json = new JsonObject
            {
                ["id"] = node.Id,
                ["type"] = node.Kind.ToString().ToLowerInvariant(),
                ["state"] = (own ?? Summed(node, states))?.ToCelery(),
            };
            if (node.Kind == SignatureKind.Task)
            {
                json["task"] = node.Task;
                json["args"] = node.Args is { } args ? JsonNode.Parse(args.GetRawText()) : new JsonArray();
                json["kwargs"] = node.Kwargs is { } kwargs ? JsonNode.Parse(kwargs.GetRawText()) : new JsonObject();
            }
            var children = new JsonArray();
            var drawn = 0;
            foreach (var member in node.Members)
            {
                if (drawn >= limit || _left <= 0)
                    break;
                children.Add(Node(member));
                drawn++;
            }
            json["children"] = children;
            if (drawn < node.Members.Count)
            {
                json["children_count"] = node.Members.Count;
                var more = new JsonObject();
                foreach (var group in node.Members.Skip(drawn).SelectMany(Leaves)
                             .GroupBy(leaf => states.TryGetValue(leaf, out var s) ? s.ToCelery() : "PENDING").OrderBy(g => g.Key, StringComparer.Ordinal))
                    more[group.Key] = group.Count();
                json["more"] = more;
            }
            if (node.Body is not null)
                json["body"] = Node(node.Body);
            if (node.Link.Count > 0)
                json["link"] = new JsonArray(node.Link.Select(l => (JsonNode?)Node(l)).ToArray());
            if (node.LinkError.Count > 0)
                json["link_error"] = new JsonArray(node.LinkError.Select(l => (JsonNode?)Node(l)).ToArray());
            return json;
        }
    }

    /// <summary>FAILURE if any task failed or was revoked, SUCCESS when all succeeded, STARTED once any finished, else PENDING.</summary>
    private static TaskState? Summed(Signature node, IReadOnlyDictionary<string, TaskState> states)
    {
        var leaves = Leaves(node).Select(id => states.TryGetValue(id, out var s) ? s : (TaskState?)null).ToArray();
        if (leaves.Length == 0 || leaves.All(s => s is null))
            return null;
        if (leaves.Any(s => s is TaskState.Failure or TaskState.Revoked))
            return TaskState.Failure;
        if (leaves.All(s => s == TaskState.Success))
            return TaskState.Success;
        return leaves.Any(s => s == TaskState.Success) ? TaskState.Started : TaskState.Pending;
    }

    /// <summary>The tasks whose outcome make up a node (a chord's body included, callbacks not).</summary>
    private static IEnumerable<string> Leaves(Signature node) => node.Kind switch
    {
        SignatureKind.Task => [node.Id!],
        SignatureKind.Chord => node.Members.SelectMany(Leaves).Concat(Leaves(node.Body!)),
        _ => node.Members.SelectMany(Leaves),
    };

    private static async Task<IResult> Get(string id, double? timeout, CanvasClient canvas, HttpContext http, RequestLimits limits,
        [FromQuery(Name = "children_offset")] int? childrenOffset, [FromQuery(Name = "children_limit")] int? childrenLimit)
    {
        var wait = limits.Timeout(timeout);
        var (offset, limit) = ChildrenPage(childrenOffset, childrenLimit, limits.Settings);
        var handle = canvas.Handle(PathIds.Task(id));
        CanvasResult result;
        var status = 200;
        if (wait is { } span)
        {
            using var waiting = limits.Wait();
            try
            {
                result = await handle.WaitAsync(span, http.RequestAborted, offset, limit);
            }
            catch (TimeoutException)
            {
                try
                {
                    result = await handle.GetStateAsync(http.RequestAborted, offset, limit);
                }
                catch (AskTimeoutException)
                {
                    // Not finished when the wait ended, and its coordinator too busy (a burst of member results in its
                    // mailbox) to describe itself now: still a timeout for the caller, who asks again; not a 503.
                    return Results.Json(new JsonObject
                    {
                        ["task-id"] = id, ["state"] = "PENDING",
                        ["error"] = $"no result within {span.TotalSeconds:0.###} s, and the coordinator is busy; the canvas still runs",
                    }, statusCode: 408);
                }
                status = 408;
            }
        }
        else
        {
            result = await handle.GetStateAsync(http.RequestAborted, offset, limit);
        }
        var json = TaskEndpoints.Describe(new TaskResult(result.CanvasId, result.State, result.Result, result.Error));
        json["children"] = new JsonArray(result.Members.Select(m => (JsonNode?)new JsonObject
        {
            ["task-id"] = m.TaskId, ["task"] = m.Task, ["state"] = m.State.ToCelery(),
        }).ToArray());
        json["children_count"] = result.MemberCount;
        if (result.ResultExpires is { } expires)
            json["result_expires"] = expires.ToString("O");
        return Results.Json(json, statusCode: status);
    }
}
