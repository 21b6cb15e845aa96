using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// The JSON shapes of events, shared by the SSE stream, the task timeline and the workers API. Times are unix
/// seconds, as in Celery's events.
/// </summary>
public static class MonitoringJson
{
    /// <summary>A task event as JSON text (the live stream's shape).</summary>
    public static string Event(TaskEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
            Event(e, json);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// A task event as JSON into <paramref name="json"/>, flushed, written directly: the index stores one per event,
    /// so this is on the hot path, and it reuses one writer and buffer for all.
    /// </summary>
    public static void Event(TaskEvent e, Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("type", e.Type);
        json.WriteString("uuid", e.Uuid);
        json.WriteString("name", e.Name);
        json.WriteString("state", e.State);
        json.WriteString("hostname", e.Hostname);
        json.WriteNumber("timestamp", Epoch(e.Timestamp));
        Write(json, "args", e.Args);
        Write(json, "kwargs", e.Kwargs);
        json.WriteNumber("retries", e.Retries);
        if (e.Result is { } result)
            Write(json, "result", result);
        if (e.Exception is not null)
            json.WriteString("exception", e.Exception);
        if (e.Traceback is not null)
            json.WriteString("traceback", e.Traceback);
        if (e.Runtime is { } runtime)
            json.WriteNumber("runtime", runtime);
        if (e.Queue is not null)
            json.WriteString("queue", e.Queue);
        if (e.Eta is { } eta)
            json.WriteString("eta", eta.ToString("O"));
        if (e.Expires is { } expires)
            json.WriteString("expires", expires.ToString("O"));
        if (e.Reason is not null)
            json.WriteString("reason", e.Reason);
        json.WriteEndObject();
        json.Flush();
    }

    private static void Write(Utf8JsonWriter json, string name, JsonElement? value)
    {
        json.WritePropertyName(name);
        if (value is { ValueKind: not JsonValueKind.Undefined } element)
            element.WriteTo(json);
        else
            json.WriteNullValue();
    }

    /// <summary>A beat-tick: a schedule entry's tick fired (or run now), skipped, queued or missed.</summary>
    public static JsonObject Event(Beat.BeatTick e) => new()
    {
        ["type"] = Beat.BeatEventTypes.BeatTick,
        ["entry"] = e.Entry,
        ["task"] = e.Task,
        ["outcome"] = e.Outcome,
        ["tick"] = e.Tick.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["task_id"] = e.TaskId,
        ["count"] = e.Count,
        ["lateness"] = Math.Round(e.Lateness, 3),
        ["timestamp"] = Epoch(e.Timestamp),
    };

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

    /// <summary>Wraps a stored value as it is: written out once, never parsed again (a result is often all of an event).</summary>
    public static JsonNode? Node(JsonElement? element) => element switch
    {
        null or { ValueKind: JsonValueKind.Undefined or JsonValueKind.Null } => null,
        { ValueKind: JsonValueKind.Object } e => JsonObject.Create(e),
        { ValueKind: JsonValueKind.Array } e => JsonArray.Create(e),
        { } e => JsonValue.Create(e),
    };
}
