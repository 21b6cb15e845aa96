namespace Jobs.Actors.Tasks;

/// <summary>
/// What a caller-given task id or queue name may be. Each becomes an actor name, a persistence id, Redis keys and tag
/// entries, and a URL path segment: bounded length and a character set safe in all of them (no '/', '?', '%',
/// whitespace or control characters). Celery's own ids are UUIDs, well inside both.
/// </summary>
public static class Identifiers
{
    public const int MaxTaskIdLength = 255;
    public const int MaxQueueLength = 100;

    /// <summary>Why <paramref name="id"/> cannot be a task (or canvas) id, or null when it can.</summary>
    public static string? TaskIdProblem(string id) => Problem(id, MaxTaskIdLength, "a task id");

    /// <summary>Why <paramref name="queue"/> cannot be a queue name, or null when it can.</summary>
    public static string? QueueProblem(string queue) => Problem(queue, MaxQueueLength, "a queue name");

    private static string? Problem(string value, int max, string what)
    {
        if (value.Length == 0 || value.Length > max)
            return $"{what} must have 1 to {max} characters, not {value.Length}";
        foreach (var c in value)
        {
            if (!IsAllowed(c))
                return $"{what} may hold only letters, digits and - _ . : @ + = ~ (not '{(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())}')";
        }
        return null;
    }

    private static bool IsAllowed(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.' or ':' or '@' or '+' or '=' or '~';
}
