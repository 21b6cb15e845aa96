using System.Text.RegularExpressions;

namespace Jobs.Actors.Tasks;

/// <summary>Celery's <c>task_routes</c>: the first glob that matches a task name picks its queue.</summary>
public sealed class TaskRoutes
{
    private readonly IReadOnlyList<(Regex Pattern, string Queue)> _routes;

    public TaskRoutes(string defaultQueue, IEnumerable<KeyValuePair<string, string>> routes)
    {
        DefaultQueue = defaultQueue;
        _routes = routes.Select(r => (Glob(r.Key), r.Value)).ToArray();
    }

    public string DefaultQueue { get; }

    /// <summary>Every queue a task can be routed to without naming one.</summary>
    public IReadOnlyList<string> Queues => _routes.Select(r => r.Queue).Prepend(DefaultQueue).Distinct().ToArray();

    /// <summary>An explicit queue wins, then the routes, then the default queue.</summary>
    public string QueueFor(string taskName, string? explicitQueue = null)
    {
        if (!string.IsNullOrEmpty(explicitQueue))
            return explicitQueue;
        foreach (var (pattern, queue) in _routes)
        {
            if (pattern.IsMatch(taskName))
                return queue;
        }
        return DefaultQueue;
    }

    private static Regex Glob(string glob) =>
        new("^" + Regex.Escape(glob).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant);
}
