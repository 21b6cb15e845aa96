using System.Globalization;
using System.Text.Json;
using Jobs.Actors.Client;
using Jobs.Actors.Tasks;

namespace Jobs.Api;

/// <summary>
/// The body of Flower's <c>async-apply</c>, <c>send-task</c> and <c>apply</c>: args, kwargs and the
/// <c>apply_async</c> options. Every field is checked here so a bad request is answered with what is wrong.
/// </summary>
public sealed record ApplyRequest(JsonElement? Args, JsonElement? Kwargs, TaskOptions Options)
{
    private static readonly string[] Known = ["args", "kwargs", "countdown", "eta", "expires", "queue", "task_id", "result_expires", "ignore_result"];

    public static ApplyRequest Empty { get; } = new(null, null, new TaskOptions());

    /// <summary>Reads the request; throws <see cref="BadRequestException"/> naming the offending field.</summary>
    public static ApplyRequest From(JsonElement body, DateTimeOffset now)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw new BadRequestException($"the request body must be a JSON object, not {Describe(body.ValueKind)}");
        JsonElement? args = null, kwargs = null;
        var options = new TaskOptions();
        foreach (var field in body.EnumerateObject())
        {
            var value = field.Value;
            switch (field.Name)
            {
                case "args":
                    args = Expect(field.Name, value, JsonValueKind.Array);
                    break;
                case "kwargs":
                    kwargs = Expect(field.Name, value, JsonValueKind.Object);
                    break;
                case "countdown":
                    if (value.ValueKind == JsonValueKind.Null) break;
                    var countdown = Seconds(field.Name, value);
                    options = options with { Countdown = TimeSpan.FromSeconds(countdown) };
                    break;
                case "eta":
                    if (value.ValueKind == JsonValueKind.Null) break;
                    options = options with { Eta = Timestamp(field.Name, value) };
                    break;
                case "expires":
                    if (value.ValueKind == JsonValueKind.Null) break;
                    options = value.ValueKind == JsonValueKind.Number
                        ? options with { Expires = now.AddSeconds(Seconds(field.Name, value)) }
                        : options with { Expires = Timestamp(field.Name, value) };
                    break;
                case "queue":
                    if (value.ValueKind == JsonValueKind.Null) break;
                    options = options with { Queue = Checked(field.Name, NonEmptyString(field.Name, value), Identifiers.QueueProblem) };
                    break;
                case "task_id":
                    if (value.ValueKind == JsonValueKind.Null) break;
                    options = options with { TaskId = Checked(field.Name, NonEmptyString(field.Name, value), Identifiers.TaskIdProblem) };
                    break;
                case "result_expires":
                    if (value.ValueKind == JsonValueKind.Null) break;
                    options = options with { ResultExpires = TimeSpan.FromSeconds(Seconds(field.Name, value)) };
                    break;
                case "ignore_result":
                    if (value.ValueKind == JsonValueKind.Null) break;
                    options = options with { IgnoreResult = value.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        _ => throw new BadRequestException($"'{field.Name}' must be true or false", field.Name),
                    } };
                    break;
                default:
                    throw new BadRequestException($"unknown field '{field.Name}'; expected one of {string.Join(", ", Known)}");
            }
        }
        return new ApplyRequest(args, kwargs, options);
    }

    private static JsonElement? Expect(string name, JsonElement value, JsonValueKind kind)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != kind)
            throw new BadRequestException($"'{name}' must be a JSON {Describe(kind)}, not {Describe(value.ValueKind)}");
        return value;
    }

    /// <summary>Ten years: far beyond any countdown or expiry in use, and far inside what dates and timers can hold.</summary>
    public const double MaxSeconds = 10 * 365 * 24 * 3600;

    private static double Seconds(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var seconds) || seconds < 0 || seconds > MaxSeconds)
            throw new BadRequestException($"'{name}' must be a number of seconds from 0 to {MaxSeconds:0} (ten years)", name);
        return seconds;
    }

    private static string Checked(string name, string value, Func<string, string?> problem) =>
        problem(value) is { } why ? throw new BadRequestException($"'{name}': {why}", name) : value;

    private static DateTimeOffset Timestamp(string name, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String &&
            DateTimeOffset.TryParse(value.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            return time;
        throw new BadRequestException($"'{name}' must be an ISO 8601 date and time, e.g. \"2026-11-24T22:00:00Z\"");
    }

    private static string NonEmptyString(string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
            ? text
            : throw new BadRequestException($"'{name}' must be a non-empty string");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };
}

/// <summary>A request the facade answers with 400 and this message.</summary>
public sealed class BadRequestException(string message, string? parameter = null) : Exception(message)
{
    public string? Parameter { get; } = parameter;
}

/// <summary>A task or canvas id taken from the path: checked before any entity is asked (and created) for it.</summary>
public static class PathIds
{
    public static string Task(string id) =>
        Identifiers.TaskIdProblem(id) is { } why ? throw new BadRequestException($"'id': {why}", "id") : id;
}
