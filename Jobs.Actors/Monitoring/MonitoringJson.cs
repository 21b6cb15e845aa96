using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// The JSON shapes of events, shared by the SSE stream, the task timeline and the workers API. Times are unix
/// seconds, as in Celery's events.
/// </summary>
public static class MonitoringJson
{
    public static JsonObject Event(TaskEvent e)
    {
        var json = new JsonObject
        {
            ["type"] = e.Type,
            ["uuid"] = e.Uuid,
            ["name"] = e.Name,
            ["state"] = e.State,
            ["hostname"] = e.Hostname,
            ["timestamp"] = Epoch(e.Timestamp),
            ["args"] = Node(e.Args),
            ["kwargs"] = Node(e.Kwargs),
            ["retries"] = e.Retries,
        };
        if (e.Result is { } result)
            json["result"] = Node(result);
        if (e.Exception is not null)
            json["exception"] = e.Exception;
        if (e.Traceback is not null)
            json["traceback"] = e.Traceback;
        if (e.Runtime is { } runtime)
            json["runtime"] = runtime;
        if (e.Queue is not null)
            json["queue"] = e.Queue;
        if (e.Eta is { } eta)
            json["eta"] = eta.ToString("O");
        if (e.Expires is { } expires)
            json["expires"] = expires.ToString("O");
        if (e.Reason is not null)
            json["reason"] = e.Reason;
        return json;
    }

    public static JsonObject Event(WorkerEvent e) => new()
    {
        ["type"] = e.Type,
        ["hostname"] = e.Hostname,
        ["timestamp"] = Epoch(e.Timestamp),
        ["freq"] = e.Freq,
        ["active"] = e.Active,
        ["active_tasks"] = new JsonArray(e.ActiveTasks.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray()),
        ["processed"] = e.Processed,
        ["succeeded"] = e.Succeeded,
        ["failed"] = e.Failed,
        ["retried"] = e.Retried,
        ["reserved"] = e.Reserved,
        ["concurrency"] = e.Concurrency,
        ["prefetch"] = e.Prefetch,
        ["queues"] = new JsonArray(e.Queues.Select(q => (JsonNode?)JsonValue.Create(q)).ToArray()),
        ["loadavg"] = new JsonArray(e.Loadavg.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
        ["uptime"] = Math.Round(e.Uptime, 1),
        ["sw_ident"] = e.SwIdent,
        ["sw_ver"] = e.SwVer,
        ["sw_sys"] = e.SwSys,
        ["address"] = e.Address,
    };

    public static double Epoch(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;

    public static JsonNode? Node(JsonElement? element) =>
        element is { ValueKind: not JsonValueKind.Undefined } e ? JsonNode.Parse(e.GetRawText()) : null;
}
