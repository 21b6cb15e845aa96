using System.Text.Json;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// One task in the index, in Flower's terms. Times are unix seconds; arguments and result are JSON texts (a result
/// longer than the index keeps becomes a JSON string ending in "…").
/// </summary>
public sealed record TaskRow
{
    public required string Uuid { get; init; }
    public string? Name { get; init; }
    public string State { get; init; } = "PENDING";
    public string? Args { get; init; }
    public string? Kwargs { get; init; }
    public string? Result { get; init; }
    public string? Exception { get; init; }
    public string? Traceback { get; init; }
    public double? Sent { get; init; }
    public double? Received { get; init; }
    public double? Started { get; init; }
    public double? Succeeded { get; init; }
    public double? Failed { get; init; }
    public double? Retried { get; init; }
    public double? Revoked { get; init; }
    public double? Runtime { get; init; }
    public string? Worker { get; init; }
    public int Retries { get; init; }
    public string? Queue { get; init; }
    public double? Eta { get; init; }
    public double? Expires { get; init; }
    /// <summary>The time of the latest event: Flower's <c>timestamp</c>.</summary>
    public double? Updated { get; init; }

    private static readonly HashSet<string> ReadyStates = ["SUCCESS", "FAILURE", "REVOKED"];

    public bool IsReady => ReadyStates.Contains(State);

    /// <summary>
    /// Folds an event in. Events arrive twice (live and from the journal) and out of order (live and replayed
    /// streams interleave), so this is idempotent and a state only moves forward: a finished task keeps its state,
    /// and otherwise the later attempt (then STARTED over RECEIVED/RETRY within one attempt) wins. Fields merge.
    /// </summary>
    public TaskRow Apply(TaskEvent e, int maxResultLength)
    {
        var at = MonitoringJson.Epoch(e.Timestamp);
        var row = this with
        {
            Name = e.Name ?? Name,
            Args = e.Args is { } args ? args.GetRawText() : Args,
            Kwargs = e.Kwargs is { } kwargs ? kwargs.GetRawText() : Kwargs,
            Queue = e.Queue ?? Queue,
            Worker = e.Hostname ?? Worker,
            Updated = Updated is { } updated && updated > at ? updated : at,
        };
        row = e.Type switch
        {
            EventTypes.TaskSent => row with { Sent = at, Eta = Epoch(e.Eta) ?? Eta, Expires = Epoch(e.Expires) ?? Expires },
            EventTypes.TaskReceived => row with { Received = at, Eta = Epoch(e.Eta) ?? Eta, Expires = Epoch(e.Expires) ?? Expires },
            EventTypes.TaskStarted => row with { Started = at },
            EventTypes.TaskRetried => row with { Retried = at, Exception = e.Exception, Traceback = e.Traceback, Eta = Epoch(e.Eta) ?? Eta },
            EventTypes.TaskSucceeded => row with
            {
                Succeeded = at, Result = Truncate(e.Result, maxResultLength), Runtime = e.Runtime, Started = Epoch(e.Started) ?? Started,
                Exception = null, Traceback = null,
            },
            EventTypes.TaskFailed => row with
            {
                Failed = at, Exception = e.Exception, Traceback = e.Traceback, Runtime = e.Runtime ?? Runtime,
                Started = Epoch(e.Started) ?? Started,
            },
            EventTypes.TaskRevoked => row with { Revoked = at },
            _ => row,
        };
        if (IsReady || Progress(e.State, e.Retries) < Progress(State, Retries))
            return row with { State = State, Retries = Retries };
        return row with { State = e.State, Retries = Math.Max(e.Retries, Retries) };
    }

    /// <summary>How far a task has come: attempt first, then its step within the attempt; finished is furthest.</summary>
    private static long Progress(string state, int retries) => state switch
    {
        "SUCCESS" or "FAILURE" or "REVOKED" => long.MaxValue,
        "PENDING" => -1,
        "STARTED" => retries * 2L + 1,
        _ => retries * 2L,
    };

    private static double? Epoch(DateTimeOffset? time) => time is { } t ? MonitoringJson.Epoch(t) : null;

    private static string? Truncate(JsonElement? result, int max)
    {
        if (result is not { } value)
            return null;
        var text = value.GetRawText();
        return text.Length <= max ? text : JsonSerializer.Serialize(text[..max] + "…");
    }
}
