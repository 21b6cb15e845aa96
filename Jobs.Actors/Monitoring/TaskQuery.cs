using System.Globalization;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// A page of the task index, Flower's <c>/api/tasks</c> parameters checked. <see cref="Parse"/> rejects what it
/// cannot honour with a <see cref="TaskQueryException"/> naming the parameter, rather than ignoring it.
/// </summary>
public sealed record TaskQuery(
    int Limit,
    int Offset,
    string SortColumn,
    bool Descending,
    string? Worker = null,
    string? TaskName = null,
    IReadOnlyList<string>? States = null,
    double? ReceivedStart = null,
    double? ReceivedEnd = null,
    string? Search = null)
{
    public const int MaxLimit = 10_000;

    /// <summary>Sort keys as Flower names them, and the index column behind each.</summary>
    public static readonly IReadOnlyDictionary<string, string> SortColumns = new Dictionary<string, string>
    {
        ["received"] = "received",
        ["started"] = "started",
        ["succeeded"] = "succeeded",
        ["failed"] = "failed",
        ["timestamp"] = "updated",
        ["runtime"] = "runtime",
        ["name"] = "name",
        ["state"] = "state",
        ["worker"] = "worker",
        ["uuid"] = "uuid",
        ["retries"] = "retries",
    };

    private static readonly string[] States_ = ["PENDING", "RECEIVED", "STARTED", "RETRY", "SUCCESS", "FAILURE", "REVOKED"];

    /// <summary>Flower's <c>received_start</c>/<c>received_end</c> format, read as UTC.</summary>
    public const string DateFormat = "yyyy-MM-dd HH:mm";

    public static TaskQuery Parse(string? limit, string? offset, string? sortBy, string? workername, string? taskname,
        string? state, string? receivedStart, string? receivedEnd, string? search)
    {
        var parsedLimit = limit is null ? 100 : Int("limit", limit, 1, MaxLimit);
        var parsedOffset = offset is null ? 0 : Int("offset", offset, 0, int.MaxValue);
        var sort = string.IsNullOrEmpty(sortBy) ? "-received" : sortBy;
        var descending = sort.StartsWith('-');
        var key = descending ? sort[1..] : sort;
        if (!SortColumns.TryGetValue(key, out var column))
            throw new TaskQueryException("sort_by",
                $"'sort_by' must be one of {string.Join(", ", SortColumns.Keys)} (prefix '-' for descending), not '{sortBy}'");
        IReadOnlyList<string>? states = null;
        if (!string.IsNullOrEmpty(state))
        {
            states = state.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => s.ToUpperInvariant()).ToArray();
            var unknown = states.FirstOrDefault(s => !States_.Contains(s));
            if (unknown is not null || states.Count == 0)
                throw new TaskQueryException("state", $"'state' must be one or more of {string.Join(", ", States_)}, not '{state}'");
        }
        var start = Date("received_start", receivedStart);
        var end = Date("received_end", receivedEnd);
        if (start > end)
            throw new TaskQueryException("received_start", $"'received_start' ({receivedStart}) is after 'received_end' ({receivedEnd})");
        return new TaskQuery(parsedLimit, parsedOffset, column, descending, Blank(workername), Blank(taskname), states, start, end, Blank(search));
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static int Int(string name, string text, int min, int max) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new TaskQueryException(name, $"'{name}' must be an integer from {min} to {max}, not '{text}'");

    private static double? Date(string name, string? text)
    {
        if (string.IsNullOrEmpty(text))
            return null;
        if (DateTime.TryParseExact(text, DateFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date))
            return new DateTimeOffset(date, TimeSpan.Zero).ToUnixTimeMilliseconds() / 1000.0;
        throw new TaskQueryException(name, $"'{name}' must be a UTC time as '{DateFormat}' (e.g. 2026-11-25 09:30), not '{text}'");
    }
}

public sealed class TaskQueryException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}
