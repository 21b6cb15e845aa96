using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jobs.Actors.Canvas;

/// <summary>
/// Celery's JSON form of signatures (<c>Signature.from_dict</c>): <c>{"task", "args", "kwargs", "options",
/// "subtask_type", "immutable"}</c>, with chains and groups as <c>kwargs.tasks</c>, chords as <c>kwargs.header</c>
/// and <c>kwargs.body</c>, chunks as <c>kwargs.task/it/n</c>, and <c>celery.map</c>/<c>celery.starmap</c> tasks.
/// </summary>
public static class CelerySignatures
{
    /// <summary>Reads a signature; throws <see cref="FormatException"/> naming what is wrong and where.</summary>
    public static Signature Parse(JsonElement json, string path = "$")
    {
        if (json.ValueKind == JsonValueKind.String)
            return new Signature { Task = json.GetString() };
        if (json.ValueKind != JsonValueKind.Object)
            throw new FormatException($"{path}: a signature must be a JSON object");
        var type = json.TryGetProperty("subtask_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var task = json.TryGetProperty("task", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        var kwargs = json.TryGetProperty("kwargs", out var k) && k.ValueKind == JsonValueKind.Object ? k : (JsonElement?)null;
        var options = json.TryGetProperty("options", out var o) && o.ValueKind == JsonValueKind.Object ? o : (JsonElement?)null;

        Signature signature;
        switch (type)
        {
            case "chain":
                signature = new Signature { Kind = SignatureKind.Chain, Members = List(Required(kwargs, "tasks", path), $"{path}.kwargs.tasks") };
                break;
            case "group":
                signature = new Signature { Kind = SignatureKind.Group, Members = List(Required(kwargs, "tasks", path), $"{path}.kwargs.tasks") };
                break;
            case "chord":
                var header = Required(kwargs, "header", path);
                var members = header.ValueKind == JsonValueKind.Array
                    ? List(header, $"{path}.kwargs.header")
                    : Parse(header, $"{path}.kwargs.header").Members;
                signature = new Signature { Kind = SignatureKind.Chord, Members = members, Body = Parse(Required(kwargs, "body", path), $"{path}.kwargs.body") };
                break;
            case "chunks":
                var chunked = Parse(Required(kwargs, "task", path), $"{path}.kwargs.task");
                var size = Required(kwargs, "n", path);
                if (size.ValueKind != JsonValueKind.Number || !size.TryGetInt32(out var n2) || n2 < 1)
                    throw new FormatException($"{path}.kwargs.n: chunks need a positive whole number");
                signature = Signature.Chunks(chunked.Task!, Items(Required(kwargs, "it", path), path), n2);
                break;
            case null when task is MapTasks.Map or MapTasks.Starmap:
                var mapped = Parse(Required(kwargs, "task", path), $"{path}.kwargs.task");
                var items = Items(Required(kwargs, "it", path), path);
                signature = task == MapTasks.Map ? Signature.Map(mapped.Task!, items) : Signature.Starmap(mapped.Task!, items);
                break;
            case null:
                if (string.IsNullOrEmpty(task))
                    throw new FormatException($"{path}: a task signature needs a \"task\" name");
                var args = json.TryGetProperty("args", out var a) ? a : (JsonElement?)null;
                if (args is { ValueKind: not JsonValueKind.Array and not JsonValueKind.Null })
                    throw new FormatException($"{path}.args must be a JSON array");
                signature = new Signature
                {
                    Task = task,
                    Args = args is { ValueKind: JsonValueKind.Array } ? args.Value.Clone() : null,
                    Kwargs = kwargs?.Clone(),
                    Immutable = json.TryGetProperty("immutable", out var i) && i.ValueKind == JsonValueKind.True,
                };
                break;
            default:
                throw new FormatException($"{path}: unknown subtask_type '{type}'");
        }
        return options is { } opts ? WithOptions(signature, opts, path) : signature;
    }

    private static Signature WithOptions(Signature signature, JsonElement options, string path)
    {
        foreach (var option in options.EnumerateObject())
        {
            signature = option.Name switch
            {
                "task_id" when option.Value.ValueKind == JsonValueKind.String =>
                    signature with { Id = Checked(option.Value.GetString()!, Tasks.Identifiers.TaskIdProblem, $"{path}.options.task_id") },
                "queue" when option.Value.ValueKind == JsonValueKind.String =>
                    signature with { Queue = Checked(option.Value.GetString()!, Tasks.Identifiers.QueueProblem, $"{path}.options.queue") },
                "countdown" when option.Value.ValueKind == JsonValueKind.Number => signature with { Countdown = Countdown(option.Value, $"{path}.options.countdown") },
                "link" => signature with { Link = OneOrMany(option.Value, $"{path}.options.link") },
                "link_error" => signature with { LinkError = OneOrMany(option.Value, $"{path}.options.link_error") },
                _ => signature,
            };
        }
        return signature;
    }

    /// <summary>Ten years, as for a single task's countdown: beyond it a TimeSpan overflows soon enough.</summary>
    private const double MaxCountdown = 10 * 365 * 24 * 3600;

    private static string Checked(string value, Func<string, string?> problem, string path) =>
        problem(value) is { } why ? throw new FormatException($"{path}: {why}") : value;

    private static double Countdown(JsonElement value, string path) =>
        value.TryGetDouble(out var seconds) && seconds is >= 0 and <= MaxCountdown
            ? seconds
            : throw new FormatException($"{path}: a countdown must be a number of seconds from 0 to {MaxCountdown:0} (ten years)");

    /// <summary>Writes the signature in Celery's form.</summary>
    public static JsonObject ToJson(Signature signature)
    {
        var options = new JsonObject();
        if (signature.Id is not null) options["task_id"] = signature.Id;
        if (signature.Queue is not null) options["queue"] = signature.Queue;
        if (signature.Countdown is not null) options["countdown"] = signature.Countdown;
        if (signature.Link.Count > 0) options["link"] = new JsonArray(signature.Link.Select(l => (JsonNode)ToJson(l)).ToArray());
        if (signature.LinkError.Count > 0) options["link_error"] = new JsonArray(signature.LinkError.Select(l => (JsonNode)ToJson(l)).ToArray());
        JsonArray Members(IEnumerable<Signature> members) => new(members.Select(m => (JsonNode)ToJson(m)).ToArray());
        return signature.Kind switch
        {
            SignatureKind.Chain => Compound("celery.chain", "chain", new JsonObject { ["tasks"] = Members(signature.Members) }, options),
            SignatureKind.Group => Compound("celery.group", "group", new JsonObject { ["tasks"] = Members(signature.Members) }, options),
            SignatureKind.Chord => Compound("celery.chord", "chord",
                new JsonObject { ["header"] = Members(signature.Members), ["body"] = ToJson(signature.Body!), ["kwargs"] = new JsonObject() }, options),
            _ => new JsonObject
            {
                ["task"] = signature.Task,
                ["args"] = signature.Args is { } args ? JsonNode.Parse(args.GetRawText()) : new JsonArray(),
                ["kwargs"] = signature.Kwargs is { } kwargs ? JsonNode.Parse(kwargs.GetRawText()) : new JsonObject(),
                ["options"] = options,
                ["subtask_type"] = null,
                ["immutable"] = signature.Immutable,
            },
        };
    }

    private static JsonObject Compound(string task, string type, JsonObject kwargs, JsonObject options) => new()
    {
        ["task"] = task, ["args"] = new JsonArray(), ["kwargs"] = kwargs, ["options"] = options, ["subtask_type"] = type, ["immutable"] = false,
    };

    private static JsonElement Required(JsonElement? kwargs, string name, string path) =>
        kwargs is { } k && k.TryGetProperty(name, out var value) ? value : throw new FormatException($"{path}.kwargs.{name} is missing");

    private static IReadOnlyList<Signature> List(JsonElement json, string path)
    {
        if (json.ValueKind != JsonValueKind.Array)
            throw new FormatException($"{path} must be a JSON array of signatures");
        return json.EnumerateArray().Select((item, i) => Parse(item, $"{path}[{i}]")).ToArray();
    }

    private static IReadOnlyList<Signature> OneOrMany(JsonElement json, string path) =>
        json.ValueKind == JsonValueKind.Array ? List(json, path) : [Parse(json, path)];

    private static IEnumerable<object?> Items(JsonElement it, string path) =>
        it.ValueKind == JsonValueKind.Array
            ? it.EnumerateArray().Select(e => (object?)e.Clone()).ToArray()
            : throw new FormatException($"{path}.kwargs.it must be a JSON array");
}
