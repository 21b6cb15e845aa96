using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace Jobs.Tests.Abuse;

/// <summary>One operation of the node's OpenAPI document: method, path template, parameters and body schema.</summary>
public sealed record FuzzOperation(string Method, string Path, IReadOnlyList<(string Name, string In, JsonNode? Schema)> Parameters,
    JsonNode? BodySchema, IReadOnlyList<string> ContentTypes)
{
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>A generated request before it is sent: the body is kept as JSON so the fuzzer can mark it with a task id.</summary>
public sealed record FuzzRequest(FuzzOperation Operation, IReadOnlyList<string> PathValues, IReadOnlyList<(string Name, string Value)> Query,
    IReadOnlyList<(string Name, string Value)> Headers, JsonNode? Body, string? RawBody, string? ContentType, int Mutation, int MutationAt);

/// <summary>
/// Requests generated with FsCheck from the node's own <c>/openapi/v1.json</c>: every operation it lists (so new
/// endpoints are covered as they are added), path and query parameters by their schema, bodies by their schema and
/// then often broken (truncated, flipped, nested deep, of the wrong type or content type), hostile headers.
/// </summary>
public static class OpenApiFuzzer
{
    public static IReadOnlyList<FuzzOperation> Operations(JsonNode document)
    {
        var operations = new List<FuzzOperation>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var parameters = (operation!["parameters"]?.AsArray() ?? [])
                    .Select(p => (p!["name"]!.GetValue<string>(), p["in"]!.GetValue<string>(), p["schema"]))
                    .ToArray();
                var content = operation["requestBody"]?["content"]?.AsObject();
                var types = content?.Select(c => c.Key).ToArray() ?? [];
                var schema = content?.FirstOrDefault().Value?["schema"];
                operations.Add(new FuzzOperation(method.ToUpperInvariant(), path, parameters, Resolve(schema, document, 0), types));
            }
        }
        return operations;
    }

    /// <summary>The schema with its <c>$ref</c>s replaced by what they name, to a bounded depth (signatures nest).</summary>
    private static JsonNode? Resolve(JsonNode? schema, JsonNode document, int depth)
    {
        if (schema is null || depth > 4)
            return null;
        if (schema["$ref"]?.GetValue<string>() is { } reference)
        {
            var target = reference.TrimStart('#', '/').Split('/').Aggregate((JsonNode?)document, (node, part) => node?[part]);
            return Resolve(target, document, depth + 1);
        }
        if (schema is not JsonObject obj)
            return schema.DeepClone();
        var copy = new JsonObject();
        foreach (var (key, value) in obj)
        {
            copy[key] = key switch
            {
                "properties" => new JsonObject(value!.AsObject().Select(p => KeyValuePair.Create(p.Key, Resolve(p.Value, document, depth + 1)))),
                "items" or "additionalProperties" => value is JsonObject ? Resolve(value, document, depth + 1) : value?.DeepClone(),
                _ => value?.DeepClone(),
            };
        }
        return copy;
    }

    public static Gen<FuzzRequest> Requests(IReadOnlyList<FuzzOperation> operations, IReadOnlyList<string> knownNames) =>
        from operation in Gen.Elements(operations.ToArray())
        from pathValues in Gen.CollectToArray(operation.Parameters.Where(p => p.In == "path"), _ => PathValue(knownNames))
        from declared in Gen.CollectToArray(operation.Parameters.Where(p => p.In == "query"), p => OptionalQuery(p.Name, p.Schema))
        from extra in Gen.ListOf(Gen.Zip(Gen.Elements("limit", "offset", "state", "sort_by", "search", "refresh", "status", "n", "queue",
            "ratelimit", "soft", "hard", "workername", "terminate", "token", "timeout", "children_limit", "x"), QueryValue(null)), 2)
        from headers in Gen.ListOf(Header(), 3)
        from body in Body(operation)
        from mutation in Gen.Frequency((5, Gen.Constant(0)), (4, Gen.Choose(1, 7)))
        from at in Gen.Choose(0, 1_000_000)
        select new FuzzRequest(operation, pathValues,
            [.. declared.Where(q => q is not null).Select(q => q!.Value), .. extra],
            headers, body.Json, body.Raw, body.ContentType, mutation, at);

    private static Gen<string> PathValue(IReadOnlyList<string> knownNames) => Gen.Frequency(
        (3, Gen.Elements(knownNames.ToArray())),
        (2, Gen.Elements("x", "fz", "default", "tasks.add", "celery.chain", new string('p', 300), "%2e%2e", "..", "a%2Fb", "%00", "%F0%9F%98%80",
            "<script>", "%3Cimg%20src%3Dx%3E", "null", "-1", "1e300", "a b")),
        (2, Strings()));

    private static Gen<(string, string)?> OptionalQuery(string name, JsonNode? schema) => Gen.Frequency(
        (1, Gen.Constant<(string, string)?>(null)),
        (3, QueryValue(schema).Select(v => ((string, string)?)(name, v))));

    private static Gen<string> QueryValue(JsonNode? schema)
    {
        var types = schema?["type"] switch
        {
            JsonArray array => array.Select(t => t!.GetValue<string>()).ToArray(),
            JsonValue value => [value.GetValue<string>()],
            _ => Array.Empty<string>(),
        };
        // Waits are kept short: a valid ?timeout= is honoured, and the fuzzer must not wait minutes for an answer.
        var numbers = Gen.Elements("-1", "0", "0.01", "0.5", "1", "301", "3600", "1e300", "-1e300", "NaN", "Infinity", "1e-320", "0x10", "2147483648", "10001");
        var flags = Gen.Elements("true", "false", "1", "0", "yes", "maybe", "");
        return types.Contains("number") || types.Contains("integer") ? Gen.Frequency((4, numbers), (1, Strings()))
            : types.Contains("boolean") ? Gen.Frequency((4, flags), (1, Strings()))
            : Gen.Frequency((2, numbers), (1, flags), (3, Strings()));
    }

    private static Gen<(string, string)> Header() => Gen.Elements(
        ("Origin", "http://evil.example"), ("Origin", "null"), ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-origin"),
        ("Authorization", "Bearer wrong"), ("Authorization", "bearer"), ("Accept", "text/html"), ("Accept", "*/*"),
        ("X-Forwarded-For", "1.2.3.4"), ("Cookie", "a=b"), ("If-None-Match", "\"x\""), ("X-Long", new string('h', 6000)),
        ("Range", "bytes=0-1"), ("Referer", "javascript:alert(1)"), ("Accept-Encoding", "gzip, br"));

    /// <summary>A body: none, one by the operation's schema, random JSON, or raw text; with a content type right or wrong.</summary>
    private static Gen<(JsonNode? Json, string? Raw, string? ContentType)> Body(FuzzOperation operation)
    {
        var contentType = Gen.Frequency(
            (8, Gen.Constant<string?>("application/json")), (1, Gen.Constant<string?>("application/json; charset=utf-16")),
            (1, Gen.Constant<string?>("text/plain")), (1, Gen.Constant<string?>("application/x-www-form-urlencoded")),
            (1, Gen.Constant<string?>(null)), (1, Gen.Constant<string?>("multipart/form-data; boundary=zz")), (1, Gen.Constant<string?>("application/x-json-garbage")));
        var none = Gen.Constant<(JsonNode?, string?, string?)>((null, null, null));
        var bySchema = from json in Value(operation.BodySchema, 0) from type in contentType select ((JsonNode?)json, (string?)null, type);
        var random = from json in Value(null, 0) from type in contentType select ((JsonNode?)json, (string?)null, type);
        var raw = from text in Gen.Elements("ratelimit=10/s&workername=x", "n=5", "queue=q", "soft=1&hard=2", "{", "[]", "null", "\"text\"",
                      "{\"args\": [1, 2]", "\u0000\u0001", "--zz\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n3\r\n--zz--")
                  from type in contentType
                  select ((JsonNode?)null, (string?)text, type);
        return operation.Method == "GET"
            ? Gen.Frequency((6, none), (1, random))
            : Gen.Frequency((1, none), (6, bySchema), (2, random), (2, raw));
    }

    /// <summary>A JSON value for a schema (null: anything), small: arrays and objects of at most a few members.</summary>
    private static Gen<JsonNode?> Value(JsonNode? schema, int depth)
    {
        var type = schema?["type"] switch
        {
            JsonArray array => array.Select(t => t!.GetValue<string>()).FirstOrDefault(t => t != "null"),
            JsonValue value => value.GetValue<string>(),
            _ => schema?["properties"] is not null ? "object" : null,
        };
        var anything = depth > 3 ? Scalar() : Gen.Frequency((4, Scalar()), (1, Gen.ListOf(Value(null, depth + 1), 3).Select(l => (JsonNode?)new JsonArray(l.Select(n => n?.DeepClone()).ToArray()))));
        Gen<JsonNode?> typed = type switch
        {
            "string" => Gen.Frequency((3, Gen.Elements("tasks.add", "default", "10/s", "0", "2026-12-01T00:00:00Z", "chain", "group", "chord", "chunks", "")
                .Select(s => (JsonNode?)JsonValue.Create(s))), (2, Strings().Select(s => (JsonNode?)JsonValue.Create(s)))),
            "number" or "integer" => Gen.Elements<JsonNode?>(JsonValue.Create(-1), JsonValue.Create(0), JsonValue.Create(0.5), JsonValue.Create(3),
                JsonValue.Create(1e300), JsonValue.Create(301), JsonValue.Create(int.MaxValue), JsonValue.Create(10001), JsonValue.Create(-0.0)),
            "boolean" => Gen.Elements<JsonNode?>(JsonValue.Create(true), JsonValue.Create(false)),
            "array" => depth > 3 ? Gen.Constant<JsonNode?>(new JsonArray())
                : Gen.ListOf(Value(schema!["items"], depth + 1), 4).Select(l => (JsonNode?)new JsonArray(l.Select(n => n?.DeepClone()).ToArray())),
            "object" when schema?["properties"] is JsonObject properties && depth <= 3 =>
                Gen.CollectToArray(properties, p => Gen.Frequency(
                        (1, Gen.Constant<(string, JsonNode?)?>(null)),
                        (3, Value(p.Value, depth + 1).Select(v => ((string, JsonNode?)?)(p.Key, v)))))
                    .Select(fields => (JsonNode?)new JsonObject(fields.Where(f => f is not null).Select(f => KeyValuePair.Create(f!.Value.Item1, f.Value.Item2?.DeepClone())))),
            "object" => depth > 3 ? Gen.Constant<JsonNode?>(new JsonObject())
                : Gen.ListOf(Gen.Zip(Strings(), Value(null, depth + 1)), 3)
                    .Select(l => (JsonNode?)new JsonObject(l.DistinctBy(p => p.Item1).Select(p => KeyValuePair.Create(p.Item1, p.Item2?.DeepClone())))),
            _ => anything,
        };
        // Now and then the wrong type altogether.
        return Gen.Frequency((6, typed), (1, anything));
    }

    private static Gen<JsonNode?> Scalar() => Gen.Frequency(
        (1, Gen.Constant<JsonNode?>(null)),
        (2, Gen.Elements<JsonNode?>(JsonValue.Create(0), JsonValue.Create(-7), JsonValue.Create(1e300), JsonValue.Create(2.5), JsonValue.Create(true))),
        (3, Strings().Select(s => (JsonNode?)JsonValue.Create(s))));

    /// <summary>Strings that break things: empty, huge, control characters, markup, paths, surrogates, numbers as text.</summary>
    public static Gen<string> Strings() => Gen.Frequency(
        (3, Gen.Elements("", " ", "a", "0", "-1", "1e300", "NaN", "null", "true", "[]", "{}", "\u0000", "\r\n", "\t", "../../etc/passwd",
            "%00", "%", "<img src=x onerror=alert(1)>", "</script>", "javascript:alert(1)", "'; DROP TABLE journal; --", "\ud800",
            "é漢😀", "tasks.add", "tasks.fail", "worker@127.0.0.1:1", "default", "10/s", "1e-20", "0/s", "*", "?", "#", "\\", "a/b",
            new string('a', 300), new string('z', 70_000))),
        (2, Gen.ArrayOf(Gen.Choose(32, 126).Select(c => (char)c), 12).Select(chars => new string(chars))),
        (1, Gen.ArrayOf(Gen.Choose(0, 0xFFFF).Select(c => (char)c), 8).Select(chars => new string(chars))));

    /// <summary>The body's bytes: the JSON (marked) or raw text, then mutated as the request says.</summary>
    public static byte[]? BodyBytes(FuzzRequest request, string marker)
    {
        string? text = request.RawBody;
        if (request.Body is { } json)
        {
            var copy = json.DeepClone();
            if (copy is JsonObject body)
            {
                if (!request.Operation.Path.StartsWith("/api/canvas", StringComparison.Ordinal))
                    body["task_id"] = marker;
                if (body["options"] is JsonObject options)
                    options["task_id"] = marker;
                else if (request.Operation.Path.StartsWith("/api/canvas", StringComparison.Ordinal) && body["options"] is null)
                    body["options"] = new JsonObject { ["task_id"] = marker };
            }
            text = copy?.ToJsonString() ?? "null";
        }
        if (text is null)
            return null;
        var at = text.Length == 0 ? 0 : request.MutationAt % text.Length;
        text = request.Mutation switch
        {
            1 => text[..at],
            2 => text.Length == 0 ? "\"" : text[..at] + (char)(text[at] ^ 0x20) + text[(at + 1)..],
            3 => text.Insert(at, "\u0000"),
            4 => new string('[', 5000) + text + new string(']', 5000),
            5 => text.Insert(at, ",,,"),
            6 => text + text,
            7 => text.Insert(at, "\"\\ud800\""),
            _ => text,
        };
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary><paramref name="count"/> requests drawn from <paramref name="seed"/>: the same seed gives the same requests.</summary>
    public static IReadOnlyList<FuzzRequest> Sample(Gen<FuzzRequest> requests, ulong seed, int count) =>
        Gen.Sample(requests, count, new Rnd(seed), 20);
}
