using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jobs.Cli;

/// <summary>Replies as tables for people; <c>--json</c> prints them unchanged for scripts.</summary>
public static class Rendering
{
    public static string Render(JsonNode? result) => result switch
    {
        JsonObject o when o["members"] is JsonArray members => Members(o, members),
        JsonObject { Count: 0 } => "(none)",
        JsonObject o when o.Count > 0 && o.All(p => p.Value is JsonObject) => Rows(o),
        JsonObject o => Table(["key", "value"], o.Select(p => new[] { p.Key, Text(p.Value) })),
        JsonArray a => a.Count == 0 ? "(none)" : string.Join(Environment.NewLine, a.Select(Text)),
        null => "(nothing)",
        _ => Text(result),
    };

    /// <summary>One line of a stream: a log line as is, a cluster event as time, event, member, status and roles.</summary>
    public static string RenderItem(JsonNode? item) => item switch
    {
        JsonObject e when e["event"] is not null => string.Join("  ",
            new[] { e["at"], e["event"], e["address"] ?? e["leader"], e["status"], e["roles"] }.Select(Text).Where(t => t.Length > 0)),
        _ => Text(item),
    };

    private static string Members(JsonObject cluster, JsonArray members)
    {
        var leader = cluster["leader"]?.GetValue<string>();
        var rows = members.Select(m => new[]
        {
            m!["address"]!.GetValue<string>() + (m["address"]!.GetValue<string>() == leader ? " (leader)" : ""),
            m["status"]!.GetValue<string>(),
            string.Join(",", m["roles"]!.AsArray().Select(r => r!.GetValue<string>())),
            m["reachable"]!.GetValue<bool>() ? "reachable" : "UNREACHABLE",
        });
        return Table(["address", "status", "roles", "reachability"], rows);
    }

    private static string Rows(JsonObject byKey)
    {
        var columns = byKey.SelectMany(p => p.Value!.AsObject().Select(c => c.Key)).Distinct().ToArray();
        return Table(["", .. columns], byKey.Select(p => new[] { p.Key }.Concat(columns.Select(c => Text(p.Value![c]))).ToArray()));
    }

    private static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray a => string.Join(",", a.Select(Text)),
        _ => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false }),
    };

    private static string Table(string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToArray();
        var widths = header.Select((_, i) => all.Max(r => r[i].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in all)
            text.AppendLine(string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i]))).TrimEnd());
        return text.ToString().TrimEnd();
    }
}
