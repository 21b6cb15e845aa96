using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Actors.Canvas;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Workers;

/// <summary>
/// The worker's built-in <c>celery.map</c> and <c>celery.starmap</c>: one task that applies a registered task's
/// function to every item in turn, in this worker, and returns the list of results (Celery's <c>xmap</c>).
/// </summary>
public static class MapTaskBody
{
    public static readonly RetryPolicy NoRetries = new(0, TimeSpan.Zero, [], 0, TimeSpan.Zero, false);

    public static bool Handles(string name) => name is MapTasks.Map or MapTasks.Starmap;

    /// <summary>The body for <paramref name="task"/>; argument problems surface as its exceptions.</summary>
    public static Func<TaskContext, Task<JsonElement>> For(TaskRegistry registry, TaskEnvelope task) => async context =>
    {
        var kwargs = task.Kwargs;
        if (kwargs.ValueKind != JsonValueKind.Object || !kwargs.TryGetProperty("task", out var name) || name.ValueKind != JsonValueKind.String
            || !kwargs.TryGetProperty("it", out var items) || items.ValueKind != JsonValueKind.Array)
            throw new TaskArgumentException($"{task.Name} needs kwargs {{\"task\": name, \"it\": [items]}}");
        if (!registry.TryGet(name.GetString()!, out var definition))
            throw new TaskArgumentException($"{task.Name}: task '{name.GetString()}' is not registered here", "task");
        var results = new JsonArray();
        foreach (var item in items.EnumerateArray())
        {
            var args = task.Name == MapTasks.Map ? JsonSerializer.SerializeToElement(new[] { item }) : item;
            var bound = definition.Bind(args, null);
            var result = await definition.InvokeAsync(bound, context).ConfigureAwait(false);
            results.Add(JsonNode.Parse(result.GetRawText()));
        }
        return JsonSerializer.SerializeToElement(results);
    };
}
