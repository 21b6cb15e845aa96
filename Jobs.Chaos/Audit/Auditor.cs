using System.Text.Json.Nodes;
using Jobs.Actors.Canvas;
using Jobs.Actors.Tasks;
using Jobs.Chaos.Faults;
using Jobs.Chaos.Load;

namespace Jobs.Chaos.Audit;

/// <summary>A body run as a worker's run log noted it.</summary>
public sealed record RunRecord(string TaskId, int Retries, string Worker, DateTimeOffset At);

/// <summary>A task in the monitor's index (<c>/api/tasks</c>).</summary>
public sealed record IndexRow(string State, int Retries);

/// <summary>A canvas's outcome as the cluster answers it (<c>GET /api/canvas/{id}</c>).</summary>
public sealed record CanvasAnswer(string State, JsonNode? Result);

/// <summary>Everything the audit reads: the submitters' logs, the journal, the run logs, the index and the faults.</summary>
/// <param name="Journal">Events by persistence id (<c>task-{id}</c>, <c>canvas-{id}</c>); an id without events is absent.</param>
public sealed record AuditInput(
    IReadOnlyList<Submission> Submissions,
    IReadOnlyDictionary<string, IReadOnlyList<object>> Journal,
    IReadOnlyDictionary<string, CanvasAnswer> Canvases,
    IReadOnlyDictionary<string, IReadOnlyList<RunRecord>> Runs,
    IReadOnlyDictionary<string, IndexRow>? Index,
    IReadOnlyList<FaultRecord> Faults,
    DateTimeOffset LoadStart,
    DateTimeOffset LoadEnd,
    string AppendFsync = "always");

/// <summary>A broken promise, with what the journal and the run logs hold for it.</summary>
public sealed record Finding(string Id, string Kind, string Problem, string Detail, IReadOnlyList<string> Events);

/// <summary>Counts of one row of the table: a kind of submission, or the tasks inside canvases.</summary>
public sealed class Tally
{
    public int Submitted { get; set; }
    public int Accepted { get; set; }
    public int Refused { get; set; }
    public int Unknown { get; set; }
    public int UnknownNeverRan { get; set; }
    public int UnknownRanOnce { get; set; }
    public int Lost { get; set; }
    public int Duplicated { get; set; }
    public int Wrong { get; set; }
    public int RefusedButRan { get; set; }
    public int Retries { get; set; }
    public int RanMoreThanOnce { get; set; }

    /// <summary>Lost in the last seconds before Redis was killed, which <c>appendfsync everysec</c> allows.</summary>
    public int LostToFsync { get; set; }
}

public sealed record AuditResult(
    IReadOnlyDictionary<string, Tally> ByKind,
    Tally Members,
    IReadOnlyList<Finding> Findings,
    int IndexChecked,
    IReadOnlyDictionary<string, int> FaultsByKind,
    IReadOnlyDictionary<string, double?> LatencyMs,
    double LongestQuietSeconds,
    DateTimeOffset? LongestQuietFrom)
{
    public bool Clean => Findings.All(f => f.Problem == Auditor.LostToFsync);
}

/// <summary>
/// The audit's rules, as pure functions of what was read. For each submission, by how it was answered:
/// accepted (200) must have exactly one terminal event and the right result and retries; refused must never have run
/// (no event, no body run); unknown must end either never run or run exactly once, never twice. Canvases must finish
/// with the right result, every member exactly once; a revoke answered REVOKED must leave it REVOKED, its body
/// not started after the answer. The monitor's index must agree with the journal on every finished task.
/// </summary>
public static class Auditor
{
    private const string Lost = "lost";
    private const string Duplicated = "duplicated";
    private const string Wrong = "wrong";
    private const string RefusedButRan = "refused-but-ran";
    public const string IndexDisagrees = "index-disagrees";
    private const string RevokedThenRan = "revoked-then-ran";

    /// <summary>Not a failure: what the fsync policy allows (see <see cref="AllowedByFsyncPolicy"/>).</summary>
    public const string LostToFsync = "lost-to-fsync-policy";

    public static AuditResult Judge(AuditInput input)
    {
        var byKind = new SortedDictionary<string, Tally>(StringComparer.Ordinal);
        var members = new Tally();
        var findings = new List<Finding>();
        var judgedTasks = new List<string>();

        foreach (var submission in input.Submissions)
        {
            var tally = byKind.TryGetValue(submission.Kind, out var t) ? t : byKind[submission.Kind] = new Tally();
            tally.Submitted++;
            switch (submission.Answer)
            {
                case Answer.Accepted: tally.Accepted++; break;
                case Answer.Refused: tally.Refused++; break;
                default: tally.Unknown++; break;
            }
            if (submission.IsCanvas)
                JudgeCanvas(input, submission, tally, members, findings, judgedTasks);
            else
                JudgeTask(input, submission, tally, findings, judgedTasks);
        }

        var indexChecked = 0;
        if (input.Index is { } index)
        {
            foreach (var id in judgedTasks)
            {
                var events = TaskEvents(input, id);
                var terminal = events.LastOrDefault(IsTerminal);
                if (terminal is null)
                    continue;
                indexChecked++;
                var state = StateOf(terminal);
                var retries = events.OfType<TaskRetried>().Count();
                if (!index.TryGetValue(id, out var row))
                    findings.Add(new Finding(id, "index", IndexDisagrees, $"not in the index; the journal says {state}", Describe(events, input, id)));
                else if (row.State != state || row.Retries != retries)
                    findings.Add(new Finding(id, "index", IndexDisagrees,
                        $"the index says {row.State} after {row.Retries} retries; the journal {state} after {retries}", Describe(events, input, id)));
            }
        }

        var (quiet, quietFrom) = LongestQuiet(input);
        return new AuditResult(byKind, members, findings, indexChecked,
            input.Faults.GroupBy(f => f.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()),
            Latencies(input), quiet, quietFrom);
    }

    private static void JudgeTask(AuditInput input, Submission submission, Tally tally, List<Finding> findings, List<string> judged)
    {
        var id = submission.Id;
        var events = TaskEvents(input, id);
        var runs = Runs(input, id);
        var ran = events.Count > 0 || runs.Count > 0;
        if (submission.Answer == Answer.Refused)
        {
            if (ran)
            {
                tally.RefusedButRan++;
                findings.Add(new Finding(id, submission.Kind, RefusedButRan,
                    $"answered {submission.Status} ({submission.Reply}) but journaled or run", Describe(events, input, id)));
            }
            return;
        }
        if (submission.Answer == Answer.Unknown && !ran)
        {
            tally.UnknownNeverRan++;
            return;
        }
        judged.Add(id);
        var problem = Outcome(events, ExpectedOf(submission, events), out var detail);
        if (problem == Wrong && submission.Kind == "overrun" && FrozenWhileRunning(input, events, runs))
            problem = Outcome(events, Expected.Success(JsonValue.Create(LoadGenerator.OverrunSeconds)), out detail);
        problem ??= RevokedButRan(submission, events, runs, out detail);
        if (problem == Lost && AllowedByFsyncPolicy(input.AppendFsync, input.Faults, submission, runs) is { } redisKilled)
        {
            tally.LostToFsync++;
            findings.Add(new Finding(id, submission.Kind, LostToFsync,
                $"answered {Answered(submission)}: {detail}; Redis was killed at {redisKilled:HH:mm:ss.fff}, with appendfsync everysec", Describe(events, input, id)));
            return;
        }
        if (problem is null && submission.Answer == Answer.Unknown)
            tally.UnknownRanOnce++;
        Count(tally, problem, events, runs);
        if (problem is not null)
            findings.Add(new Finding(id, submission.Kind, problem, $"answered {Answered(submission)}: {detail}", Describe(events, input, id)));
    }

    /// <summary>
    /// With <c>appendfsync everysec</c> Redis acknowledges writes it has not yet made durable: killed, it may lose the
    /// last second or two of them (two when a slow disk made it postpone a write). A task whose last acknowledged
    /// write (its acceptance, or the result of a body that ran) falls in that window before a kill of Redis may
    /// be lost so; the time of the kill, or null when that does not explain the loss.
    /// </summary>
    public static DateTimeOffset? AllowedByFsyncPolicy(string appendFsync, IReadOnlyList<FaultRecord> faults, Submission submission, IReadOnlyList<RunRecord> runs)
    {
        if (appendFsync != "everysec")
            return null;
        var acknowledged = runs.Count > 0 ? runs.Max(r => r.At) : submission.SentAt.AddMilliseconds(submission.SubmitMs);
        return faults.FirstOrDefault(f => f.Kind == FaultPlan.RedisRestart &&
                                          f.Start >= acknowledged && f.Start - acknowledged <= FsyncWindow)?.Start;
    }

    private static readonly TimeSpan FsyncWindow = TimeSpan.FromSeconds(2.5);

    /// <summary>
    /// The soft time limit is a timer in the worker's process: frozen (SIGSTOP) past both the limit and the body's own
    /// sleep, the process finds both due when it resumes, and the body may finish first. Its result then stands, as in
    /// Celery when a task completes before the limit's signal arrives.
    /// </summary>
    private static bool FrozenWhileRunning(AuditInput input, IReadOnlyList<ITaskEvent> events, IReadOnlyList<RunRecord> runs)
    {
        var end = events.LastOrDefault(IsTerminal)?.Timestamp;
        return end is not null && runs.Any(run => input.Faults.Any(f =>
            f.Kind == FaultPlan.Freeze && f.Target == run.Worker && f.Start < end && f.Undone > run.At));
    }

    /// <summary>
    /// What a revoked task must end as: REVOKED when the revoke was acknowledged as such; as the acknowledgement says
    /// when it came too late (the task had finished); unrevoked when the revoke was refused; either when unknown.
    /// </summary>
    private static Expected ExpectedOf(Submission submission, IReadOnlyList<ITaskEvent> events)
    {
        if (submission.Revoke is not { } revoke)
            return submission.Expected;
        var revoked = new Expected("REVOKED");
        return revoke.Answer switch
        {
            Answer.Accepted when revoke.State == "REVOKED" => revoked,
            Answer.Accepted or Answer.Refused => submission.Expected,
            _ => events.LastOrDefault(IsTerminal) is TaskRevoked ? revoked : submission.Expected,
        };
    }

    /// <summary>
    /// A body run that began after the revoke was acknowledged to its client as REVOKED: the promise is that a task
    /// revoked before it started never starts. (A run that began between the revoke's journaling and its answer raced
    /// with it; its outcome is discarded, and it is not counted here.)
    /// </summary>
    private static string? RevokedButRan(Submission submission, IReadOnlyList<ITaskEvent> events, IReadOnlyList<RunRecord> runs, out string detail)
    {
        detail = "";
        if (submission.Revoke is not { Answer: Answer.Accepted, State: "REVOKED" } revoke || events.OfType<TaskRevoked>().FirstOrDefault() is not { } revoked)
            return null;
        var late = runs.FirstOrDefault(r => r.At > revoke.AnsweredAt);
        if (late is null)
            return null;
        detail = $"its body ran at {late.At:HH:mm:ss.fff} on {late.Worker}, after the revoke was journaled ({revoked.Timestamp:HH:mm:ss.fff}) " +
                 $"and answered REVOKED ({revoke.AnsweredAt:HH:mm:ss.fff})";
        return RevokedThenRan;
    }

    private static void JudgeCanvas(AuditInput input, Submission submission, Tally tally, Tally members, List<Finding> findings, List<string> judged)
    {
        var id = submission.Id;
        var canvasEvents = input.Journal.GetValueOrDefault("canvas-" + id) ?? [];
        var anyMember = submission.Members.Any(m => TaskEvents(input, m.Id).Count > 0 || Runs(input, m.Id).Count > 0);
        var ran = canvasEvents.Count > 0 || anyMember;
        if (submission.Answer == Answer.Refused)
        {
            if (ran)
            {
                tally.RefusedButRan++;
                findings.Add(new Finding(id, submission.Kind, RefusedButRan, $"answered {submission.Status} ({submission.Reply}) but started",
                    Summary(canvasEvents)));
            }
            return;
        }
        if (submission.Answer == Answer.Unknown && !ran)
        {
            tally.UnknownNeverRan++;
            return;
        }

        string? problem = null;
        var detail = "";
        var finished = canvasEvents.OfType<CanvasFinished>().ToArray();
        var answer = input.Canvases.GetValueOrDefault(id);
        if (finished.Length > 1)
            (problem, detail) = (Duplicated, $"{finished.Length} CanvasFinished events");
        else if (answer is null || answer.State is not ("SUCCESS" or "FAILURE"))
        {
            var unsent = submission.Members.Count(m => TaskEvents(input, m.Id).Count == 0);
            var unfinished = submission.Members.Count(m => TaskEvents(input, m.Id) is { Count: > 0 } e && !e.Any(IsTerminal));
            (problem, detail) = (Lost, $"the canvas is {answer?.State ?? "unknown to the cluster"}; of its {submission.Members.Count} tasks " +
                                       $"{unsent} have no event in the journal and {unfinished} did not finish");
        }
        else if (answer.State != submission.Expected.State || !SameJson(answer.Result, submission.Expected.Result))
            (problem, detail) = (Wrong, $"ended {answer.State} with {answer.Result?.ToJsonString() ?? "no result"}, not {submission.Expected.Result?.ToJsonString()}");

        foreach (var member in submission.Members)
        {
            members.Submitted++;
            var events = TaskEvents(input, member.Id);
            var runs = Runs(input, member.Id);
            judged.Add(member.Id);
            var memberProblem = Outcome(events, member.Expected, out var memberDetail);
            // A chain stops at its first failure and a canvas that failed sends no more: a member never sent is not lost then.
            if (memberProblem == Lost && events.Count == 0 && problem is not null)
                continue;
            Count(members, memberProblem, events, runs);
            if (memberProblem is not null)
                findings.Add(new Finding(member.Id, submission.Kind + " member", memberProblem, $"of {id}: {memberDetail}", Describe(events, input, member.Id)));
        }
        if (problem is null && submission.Answer == Answer.Unknown)
            tally.UnknownRanOnce++;
        Count(tally, problem, [], []);
        if (problem is not null)
            findings.Add(new Finding(id, submission.Kind, problem, $"answered {Answered(submission)}: {detail}", Summary(canvasEvents)));
    }

    /// <summary>Null when the journal holds exactly one terminal event with the expected state, result and retries.</summary>
    private static string? Outcome(IReadOnlyList<ITaskEvent> events, Expected expected, out string detail)
    {
        var terminals = events.Where(IsTerminal).ToArray();
        var retries = events.OfType<TaskRetried>().Count();
        detail = "";
        switch (terminals.Length)
        {
            case 0:
                detail = events.Count == 0 ? "no event in the journal" : $"no terminal event ({string.Join(", ", events.Select(e => e.GetType().Name))})";
                return Lost;
            case > 1:
                detail = $"{terminals.Length} terminal events: {string.Join(", ", terminals.Select(e => e.GetType().Name))}";
                return Duplicated;
        }
        var terminal = terminals[0];
        var state = StateOf(terminal);
        if (state != expected.State)
        {
            detail = $"ended {state}{ErrorOf(terminal)}, not {expected.State}";
            return Wrong;
        }
        if (terminal is TaskSucceeded succeeded && !SameJson(JsonNode.Parse(succeeded.Result.GetRawText()), expected.Result))
        {
            detail = $"result {succeeded.Result.GetRawText()}, not {expected.Result?.ToJsonString()}";
            return Wrong;
        }
        if (terminal is TaskFailed failed && expected.ErrorType is { } type && failed.Error.Type != type)
        {
            detail = $"failed with {failed.Error.Type}, not {type}";
            return Wrong;
        }
        if (retries != expected.Retries)
        {
            detail = $"{retries} retries, not {expected.Retries}";
            return Wrong;
        }
        return null;
    }

    private static void Count(Tally tally, string? problem, IReadOnlyList<ITaskEvent> events, IReadOnlyList<RunRecord> runs)
    {
        tally.Retries += events.OfType<TaskRetried>().Count();
        // At least once: a body may run again after its worker died; more runs than attempts journaled is said here.
        if (runs.Count > events.OfType<TaskRetried>().Count() + 1)
            tally.RanMoreThanOnce++;
        switch (problem)
        {
            case Lost: tally.Lost++; break;
            case Duplicated: tally.Duplicated++; break;
            case Wrong or RevokedThenRan: tally.Wrong++; break;
        }
    }

    private static IReadOnlyList<ITaskEvent> TaskEvents(AuditInput input, string id) =>
        input.Journal.TryGetValue("task-" + id, out var events) ? events.OfType<ITaskEvent>().ToArray() : [];

    private static IReadOnlyList<RunRecord> Runs(AuditInput input, string id) => input.Runs.GetValueOrDefault(id) ?? [];

    private static bool IsTerminal(ITaskEvent e) => e is TaskSucceeded or TaskFailed or TaskRevoked;

    private static string StateOf(ITaskEvent terminal) => terminal switch
    {
        TaskSucceeded => "SUCCESS",
        TaskFailed => "FAILURE",
        TaskRevoked => "REVOKED",
        _ => "?",
    };

    private static string ErrorOf(ITaskEvent terminal) => terminal switch
    {
        TaskFailed f => $" ({f.Error.Type}: {f.Error.Message})",
        TaskRevoked r => $" ({r.Reason})",
        _ => "",
    };

    private static bool SameJson(JsonNode? a, JsonNode? b) => JsonNode.DeepEquals(a, b);

    private static string Answered(Submission s) => s.Answer == Answer.Accepted ? "200" : $"{s.Status} ({s.Answer.ToString().ToLowerInvariant()})";

    /// <summary>The task's events and body runs, one line each, for a finding.</summary>
    private static IReadOnlyList<string> Describe(IReadOnlyList<ITaskEvent> events, AuditInput input, string id) =>
        events.Select(e => $"{e.Timestamp:HH:mm:ss.fff} {e.GetType().Name}{Summary(e)}")
            .Concat(Runs(input, id).Select(r => $"{r.At:HH:mm:ss.fff} body ran on {r.Worker} (retries {r.Retries})"))
            .OrderBy(l => l, StringComparer.Ordinal).ToArray();

    /// <summary>A canvas's journal in one line: how many events of each type, in order of first appearance.</summary>
    private static IReadOnlyList<string> Summary(IReadOnlyList<object> canvasEvents) =>
        [$"canvas journal: {string.Join(", ", canvasEvents.GroupBy(e => e.GetType().Name).Select(g => $"{g.Count()} {g.Key}"))}"];

    private static string Summary(ITaskEvent e) => e switch
    {
        TaskSucceeded s => $" {s.Result.GetRawText()} by {s.Worker}",
        TaskFailed f => $" {f.Error.Type} by {f.Worker}",
        TaskRetried r => $" #{r.Retries} by {r.Worker}",
        TaskRevoked r => $" ({r.Reason})",
        TaskReceived r => r.DueAt is { } due ? $" due {due:HH:mm:ss.fff}" : "",
        _ => "",
    };

    /// <summary>
    /// p50 and p99 of submission round trips, and of the time from submission to the journaled result of plain
    /// additions, for submissions sent outside any fault's window and inside one (from the fault until the cluster was
    /// whole again).
    /// </summary>
    private static IReadOnlyDictionary<string, double?> Latencies(AuditInput input)
    {
        bool During(DateTimeOffset at) => input.Faults.Any(f => at >= f.Start && at <= (f.Healthy ?? input.LoadEnd));
        var submitted = input.Submissions.Where(s => s.Answer == Answer.Accepted).ToArray();
        var completed = submitted.Where(s => s.Kind is "add" && s.Revoke is null)
            .Select(s => (s.SentAt, Terminal: TaskEvents(input, s.Id).FirstOrDefault(IsTerminal)))
            .Where(c => c.Terminal is not null)
            .Select(c => (c.SentAt, Ms: (c.Terminal!.Timestamp - c.SentAt).TotalMilliseconds)).ToArray();
        var result = new SortedDictionary<string, double?>(StringComparer.Ordinal);
        foreach (var (name, during) in new[] { ("outside", false), ("during", true) })
        {
            var submit = submitted.Where(s => During(s.SentAt) == during).Select(s => s.SubmitMs).ToArray();
            var done = completed.Where(c => During(c.SentAt) == during).Select(c => c.Ms).ToArray();
            result[$"submit_p50_{name}"] = Percentile(submit, 50);
            result[$"submit_p99_{name}"] = Percentile(submit, 99);
            result[$"result_p50_{name}"] = Percentile(done, 50);
            result[$"result_p99_{name}"] = Percentile(done, 99);
        }
        return result;
    }

    public static double? Percentile(IReadOnlyCollection<double> values, int percent)
    {
        if (values.Count == 0)
            return null;
        var sorted = values.Order().ToArray();
        return Math.Round(sorted[Math.Clamp((int)Math.Ceiling(percent / 100.0 * sorted.Length) - 1, 0, sorted.Length - 1)], 1);
    }

    /// <summary>The longest stretch of the load during which no task at all reached a terminal event.</summary>
    private static (double Seconds, DateTimeOffset? From) LongestQuiet(AuditInput input)
    {
        var times = input.Journal.Where(p => p.Key.StartsWith("task-", StringComparison.Ordinal))
            .SelectMany(p => p.Value.OfType<ITaskEvent>().Where(IsTerminal).Select(e => e.Timestamp))
            .Where(t => t >= input.LoadStart && t <= input.LoadEnd)
            .Append(input.LoadStart).Append(input.LoadEnd).Order().ToArray();
        var longest = 0.0;
        DateTimeOffset? from = null;
        for (var i = 1; i < times.Length; i++)
        {
            var gap = (times[i] - times[i - 1]).TotalSeconds;
            if (gap > longest)
                (longest, from) = (gap, times[i - 1]);
        }
        return (Math.Round(longest, 2), from);
    }
}
