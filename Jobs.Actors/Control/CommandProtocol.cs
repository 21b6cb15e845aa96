using System.Text.Json.Nodes;

namespace Jobs.Actors.Control;

/// <summary>
/// The command host's wire format: one JSON object per line each way over TCP.
/// Request: <c>{"v":2,"palette":"cluster","command":"show","args":["..."],"token":"…"}</c>.
/// Reply: <c>{"v":2,"ok":true,"result":…}</c> or <c>{"v":2,"ok":false,"error":"…"}</c>.
/// Version 2 adds streams (<c>cluster tail</c>, <c>log tail</c>): any number of <c>{"v":2,"item":…}</c> lines,
/// then the reply <c>{"v":2,"ok":true,"end":true}</c>. The client ends a stream by sending a line or closing the
/// connection; a stream is the last exchange on its connection. Version 1 clients are still served, without streams.
/// </summary>
public static class CommandProtocol
{
    public const int Version = 2;

    public const int FirstStreamingVersion = 2;

    public static readonly IReadOnlySet<int> Supported = new HashSet<int> { 1, 2 };

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

    public static JsonObject Ok(JsonNode? result, int version = Version) => new() { ["v"] = version, ["ok"] = true, ["result"] = result };

    public static JsonObject Error(string message, int version = Version) => new() { ["v"] = version, ["ok"] = false, ["error"] = message };

    public static JsonObject Item(JsonNode item) => new() { ["v"] = Version, ["item"] = item };

    public static JsonObject End() => new() { ["v"] = Version, ["ok"] = true, ["end"] = true };
}

/// <summary>A command that cannot be carried out; the message says why.</summary>
public class CommandException(string message) : Exception(message);

/// <summary>A command named a worker or task the cluster does not know (HTTP answers 404).</summary>
public sealed class UnknownNameException(string message) : CommandException(message);

/// <summary>A command found no one to answer it in time (HTTP answers 504).</summary>
public sealed class NoReplyException(string message) : CommandException(message);
