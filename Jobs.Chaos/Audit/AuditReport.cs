using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Jobs.Chaos.Faults;

namespace Jobs.Chaos.Audit;

/// <summary>What a run was: its seed, its settings and the figures it ran at, printed above the audit.</summary>
public sealed record RunSettings(int Seed, double Seconds, double Rate, double? Capacity, string Network, string AppendFsync, IReadOnlyList<string> FaultKinds);

/// <summary>The audit as a table for people and as one line of JSON for programs (the spec that runs it in CI).</summary>
public static class AuditReport
{
    private const int FindingsPrinted = 40;

    public static string Table(RunSettings run, AuditResult audit, IReadOnlyList<FaultRecord> faults)
    {
        var text = new StringBuilder();
        var capacity = run.Capacity is { } c ? string.Create(CultureInfo.InvariantCulture, $" (capacity measured {c:0}/s)") : "";
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"chaos run: seed {run.Seed}, {run.Seconds:0} s of load at {run.Rate:0} tasks/s{capacity}, {run.Network}, appendfsync {run.AppendFsync}"));
        text.AppendLine($"faults drawn from: {string.Join(", ", run.FaultKinds)}");
        text.AppendLine();
        text.AppendLine($"{"kind",-14}{"submitted",10}{"accepted",9}{"refused",8}{"unknown",8}{"never/once",12}{"lost",6}{"dup",5}{"wrong",6}{"ref-ran",8}{"retries",8}{"re-ran",7}");
        var total = new Tally();
        foreach (var (kind, tally) in audit.ByKind)
        {
            Row(text, kind, tally);
            Add(total, tally);
        }
        Row(text, "total", total);
        MembersRow(text, audit.Members);
        text.AppendLine();
        text.AppendLine("faults injected: " + (faults.Count == 0 ? "none" : string.Join(", ", audit.FaultsByKind.Select(f => $"{f.Key} {f.Value}"))));
        var recoveries = faults.Where(f => f.Healthy is not null).Select(f => (f.Healthy!.Value - f.Start).TotalSeconds).ToArray();
        if (recoveries.Length > 0)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"cluster whole again (every node Up) after a fault struck: median {Median(recoveries):0.0} s, longest {recoveries.Max():0.0} s; not within 90 s: {faults.Count(f => f.Healthy is null)}"));
        string Ms(string key) => audit.LatencyMs.GetValueOrDefault(key) is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "-";
        text.AppendLine($"latency ms           outside faults    during faults");
        text.AppendLine($"  submit p50 / p99   {Ms("submit_p50_outside"),7} / {Ms("submit_p99_outside"),-7}  {Ms("submit_p50_during"),7} / {Ms("submit_p99_during")}");
        text.AppendLine($"  result p50 / p99   {Ms("result_p50_outside"),7} / {Ms("result_p99_outside"),-7}  {Ms("result_p50_during"),7} / {Ms("result_p99_during")}");
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"longest time no task completed: {audit.LongestQuietSeconds:0.00} s{(audit.LongestQuietFrom is { } from ? $" (from {from:HH:mm:ss.fff})" : "")}"));
        text.AppendLine($"monitor index: {audit.IndexChecked} finished tasks compared with the journal, {audit.Findings.Count(f => f.Problem == Auditor.IndexDisagrees)} disagree");
        text.AppendLine();
        var allowed = audit.Findings.Count(f => f.Problem == Auditor.LostToFsync);
        if (allowed > 0)
            text.AppendLine($"lost in the second before a kill of Redis, as appendfsync {run.AppendFsync} allows (not failures): {allowed}");
        text.AppendLine(audit.Clean ? "verdict: CLEAN" : $"verdict: {audit.Findings.Count - allowed} FAILURES");
        foreach (var finding in audit.Findings.Take(FindingsPrinted))
        {
            text.AppendLine($"  {finding.Id} ({finding.Kind}) {finding.Problem}: {finding.Detail}");
            foreach (var e in finding.Events)
                text.AppendLine($"      {e}");
        }
        if (audit.Findings.Count > FindingsPrinted)
            text.AppendLine($"  … {audit.Findings.Count - FindingsPrinted} more in audit.json");
        return text.ToString();
    }

    private static void Row(StringBuilder text, string kind, Tally t) =>
        text.AppendLine($"{kind,-14}{t.Submitted,10}{t.Accepted,9}{t.Refused,8}{t.Unknown,8}{$"{t.UnknownNeverRan}/{t.UnknownRanOnce}",12}{t.Lost,6}{t.Duplicated,5}{t.Wrong,6}{t.RefusedButRan,8}{t.Retries,8}{t.RanMoreThanOnce,7}");

    /// <summary>A canvas's tasks are not submitted one by one: they have no answer of their own, only a fate.</summary>
    private static void MembersRow(StringBuilder text, Tally t) =>
        text.AppendLine($"{"canvas tasks",-14}{t.Submitted,10}{"-",9}{"-",8}{"-",8}{"-",12}{t.Lost,6}{t.Duplicated,5}{t.Wrong,6}{"-",8}{t.Retries,8}{t.RanMoreThanOnce,7}");

    private static void Add(Tally total, Tally t)
    {
        total.Submitted += t.Submitted;
        total.Accepted += t.Accepted;
        total.Refused += t.Refused;
        total.Unknown += t.Unknown;
        total.UnknownNeverRan += t.UnknownNeverRan;
        total.UnknownRanOnce += t.UnknownRanOnce;
        total.Lost += t.Lost;
        total.Duplicated += t.Duplicated;
        total.Wrong += t.Wrong;
        total.RefusedButRan += t.RefusedButRan;
        total.Retries += t.Retries;
        total.RanMoreThanOnce += t.RanMoreThanOnce;
        total.LostToFsync += t.LostToFsync;
    }

    private static double Median(double[] values) => values.Order().ElementAt(values.Length / 2);

    public static JsonObject Json(RunSettings run, AuditResult audit, IReadOnlyList<FaultRecord> faults)
    {
        var total = new Tally();
        foreach (var tally in audit.ByKind.Values)
            Add(total, tally);
        return new JsonObject
        {
            ["seed"] = run.Seed, ["seconds"] = run.Seconds, ["rate"] = Math.Round(run.Rate, 1),
            ["capacity"] = run.Capacity is { } c ? Math.Round(c, 1) : null, ["network"] = run.Network, ["appendfsync"] = run.AppendFsync,
            ["clean"] = audit.Clean,
            ["tasks"] = Counts(total),
            ["canvas_tasks"] = Counts(audit.Members),
            ["by_kind"] = new JsonObject(audit.ByKind.Select(k => KeyValuePair.Create(k.Key, (JsonNode?)Counts(k.Value)))),
            ["faults"] = new JsonObject(audit.FaultsByKind.Select(f => KeyValuePair.Create(f.Key, (JsonNode?)f.Value))),
            ["fault_log"] = new JsonArray(faults.Select(f => (JsonNode?)new JsonObject
            {
                ["kind"] = f.Kind, ["target"] = f.Target, ["start"] = f.Start.ToString("O"), ["undone"] = f.Undone.ToString("O"),
                ["whole_again"] = f.Healthy?.ToString("O"), ["drawn"] = f.Detail,
            }).ToArray()),
            ["latency_ms"] = new JsonObject(audit.LatencyMs.Select(l => KeyValuePair.Create(l.Key, (JsonNode?)l.Value))),
            ["longest_quiet_s"] = audit.LongestQuietSeconds,
            ["index_checked"] = audit.IndexChecked,
            ["index_disagrees"] = audit.Findings.Count(f => f.Problem == Auditor.IndexDisagrees),
            ["failures"] = new JsonArray(audit.Findings.Select(f => (JsonNode?)new JsonObject
            {
                ["id"] = f.Id, ["kind"] = f.Kind, ["problem"] = f.Problem, ["detail"] = f.Detail,
                ["events"] = new JsonArray(f.Events.Select(e => (JsonNode?)e).ToArray()),
            }).ToArray()),
        };
    }

    private static JsonObject Counts(Tally t) => new()
    {
        ["submitted"] = t.Submitted, ["accepted"] = t.Accepted, ["refused"] = t.Refused, ["unknown"] = t.Unknown,
        ["unknown_never_ran"] = t.UnknownNeverRan, ["unknown_ran_once"] = t.UnknownRanOnce, ["lost"] = t.Lost,
        ["duplicated"] = t.Duplicated, ["wrong"] = t.Wrong, ["refused_but_ran"] = t.RefusedButRan, ["retries"] = t.Retries,
        ["ran_more_than_once"] = t.RanMoreThanOnce, ["lost_to_fsync_policy"] = t.LostToFsync,
    };
}
