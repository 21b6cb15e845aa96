using System.Text.Json.Nodes;

namespace Jobs.Actors.Control;

/// <summary>
/// The command host's wire format (version 1): one JSON object per line each way over TCP.
/// Request: <c>{"v":1,"palette":"cluster","command":"show","args":["..."]}</c>.
/// Reply: <c>{"v":1,"ok":true,"result":…}</c> or <c>{"v":1,"ok":false,"error":"…"}</c>.
/// </summary>
public static class CommandProtocol
{
    public const int Version = 1;

    public static JsonObject Request(string palette, string command, IEnumerable<string> args, string? token = null)
    {
        var request = new JsonObject
        {
            ["v"] = Version, ["palette"] = palette, ["command"] = command, ["args"] = new JsonArray(args.Select(a => (JsonNode?)a).ToArray()),
        };
        if (token is not null)
            request["token"] = token;
        return request;
    }

    public static JsonObject Ok(JsonNode? result) => new() { ["v"] = Version, ["ok"] = true, ["result"] = result };

    public static JsonObject Error(string message) => new() { ["v"] = Version, ["ok"] = false, ["error"] = message };
}

/// <summary>A command that cannot be carried out; the message says why.</summary>
public sealed class CommandException(string message) : Exception(message);
