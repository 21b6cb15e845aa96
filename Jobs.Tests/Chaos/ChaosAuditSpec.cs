using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Actors.Canvas;
using Jobs.Actors.Tasks;
using Jobs.Chaos.Audit;
using Jobs.Chaos.Faults;
using Jobs.Chaos.Load;
using Xunit;

namespace Jobs.Tests.Chaos;

/// <summary>The chaos audit's rules on journals written by hand: each promise, kept and broken.</summary>
public sealed class ChaosAuditSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly JsonElement NoArgs = JsonDocument.Parse("[]").RootElement.Clone();
    private static readonly JsonElement NoKwargs = JsonDocument.Parse("{}").RootElement.Clone();

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static Submission Task(string id, Answer answer, Expected? expected = null, string kind = "add") => new()
    {
        Id = id, Kind = kind, Expected = expected ?? Expected.Success(4L), Answer = answer, SentAt = T0,
        Status = answer switch { Answer.Accepted => 200, Answer.Refused => 404, _ => 503 },
    };

    private static TaskReceived Received(string id, double at = 0) => new(id, "chaos.add", NoArgs, NoKwargs, "default", null, null, T0.AddSeconds(at));
    private static TaskSucceeded Succeeded(string id, string result = "4", double at = 1) => new(id, Json(result), "w1", T0, 0.01, T0.AddSeconds(at));
    private static TaskRetried Retried(string id, int retries) => new(id, retries, T0.AddSeconds(retries), new TaskError("ChaosFlakyException", "", ""), "w1", T0.AddSeconds(retries));
    private static TaskRevoked Revoked(string id, double at) => new(id, RevocationReasons.Revoked, T0.AddSeconds(at));

    private static AuditResult Judge(IEnumerable<Submission> submissions, Dictionary<string, IReadOnlyList<object>> journal,
        Dictionary<string, IReadOnlyList<RunRecord>>? runs = null, Dictionary<string, CanvasAnswer>? canvases = null,
        Dictionary<string, IndexRow>? index = null, IReadOnlyList<FaultRecord>? faults = null, string appendFsync = "always") =>
        Auditor.Judge(new AuditInput(submissions.ToArray(), journal, canvases ?? new(), runs ?? new(), index, faults ?? [], T0, T0.AddSeconds(60), appendFsync));

    private static Dictionary<string, IReadOnlyList<object>> Journal(params (string Id, object[] Events)[] tasks) =>
        tasks.ToDictionary(t => "task-" + t.Id, t => (IReadOnlyList<object>)t.Events);

    private static RunRecord Run(string id, double at, int retries = 0) => new(id, retries, "w1", T0.AddSeconds(at));

    [Fact]
    public void An_accepted_task_with_one_terminal_event_and_the_right_result_is_clean()
    {
        var audit = Judge([Task("t1", Answer.Accepted)], Journal(("t1", [Received("t1"), Succeeded("t1")])));
        Assert.True(audit.Clean);
        Assert.Equal(1, audit.ByKind["add"].Accepted);
    }

    [Fact]
    public void An_accepted_task_without_a_terminal_event_is_lost()
    {
        var audit = Judge([Task("t1", Answer.Accepted)], Journal(("t1", [Received("t1")])));
        Assert.Equal("lost", Assert.Single(audit.Findings).Problem);
        Assert.Equal(1, audit.ByKind["add"].Lost);
    }

    [Fact]
    public void Two_terminal_events_are_a_duplicate()
    {
        var audit = Judge([Task("t1", Answer.Accepted)], Journal(("t1", [Received("t1"), Succeeded("t1"), Succeeded("t1", at: 2)])));
        Assert.Equal("duplicated", Assert.Single(audit.Findings).Problem);
    }

    [Fact]
    public void A_wrong_result_or_a_wrong_count_of_retries_is_wrong()
    {
        var audit = Judge(
            [Task("t1", Answer.Accepted), Task("t2", Answer.Accepted, Expected.Success(JsonValue.Create("ok after 2 failures"), retries: 2), "flaky")],
            Journal(("t1", [Received("t1"), Succeeded("t1", "5")]), ("t2", [Received("t2"), Retried("t2", 1), Succeeded("t2", "\"ok after 2 failures\"")])));
        Assert.Equal(["wrong", "wrong"], audit.Findings.Select(f => f.Problem));
        Assert.Contains("1 retries, not 2", audit.Findings[1].Detail);
    }

    [Fact]
    public void A_refused_task_that_was_journaled_or_whose_body_ran_broke_the_refusal()
    {
        var audit = Judge([Task("t1", Answer.Refused), Task("t2", Answer.Refused), Task("t3", Answer.Refused)],
            Journal(("t1", [Received("t1")])), runs: new() { ["t2"] = [Run("t2", 1)] });
        Assert.Equal(["t1", "t2"], audit.Findings.Select(f => f.Id));
        Assert.All(audit.Findings, f => Assert.Equal("refused-but-ran", f.Problem));
    }

    [Fact]
    public void An_unknown_outcome_may_end_never_run_or_run_once_but_never_twice()
    {
        var audit = Judge([Task("t1", Answer.Unknown), Task("t2", Answer.Unknown), Task("t3", Answer.Unknown)],
            Journal(("t2", [Received("t2"), Succeeded("t2")]), ("t3", [Received("t3"), Succeeded("t3"), Succeeded("t3", at: 2)])));
        var unknown = audit.ByKind["add"];
        Assert.Equal((1, 1), (unknown.UnknownNeverRan, unknown.UnknownRanOnce));
        Assert.Equal(("t3", "duplicated"), (Assert.Single(audit.Findings).Id, audit.Findings[0].Problem));
    }

    [Fact]
    public void A_body_that_starts_after_its_revoke_was_answered_breaks_the_revoke()
    {
        var revoked = Expected.Success(4L);
        var late = Task("t1", Answer.Accepted, revoked, "revoked");
        late.Revoke = new Revocation(T0.AddSeconds(1), T0.AddSeconds(2), 200, Answer.Accepted, "REVOKED", null);
        var raced = Task("t2", Answer.Accepted, revoked, "revoked");
        raced.Revoke = new Revocation(T0.AddSeconds(1), T0.AddSeconds(2), 200, Answer.Accepted, "REVOKED", null);
        var audit = Judge([late, raced], Journal(("t1", [Received("t1"), Revoked("t1", 1.5)]), ("t2", [Received("t2"), Revoked("t2", 1.5)])),
            runs: new() { ["t1"] = [Run("t1", 2.5)], ["t2"] = [Run("t2", 1.8)] });
        var finding = Assert.Single(audit.Findings);
        Assert.Equal(("t1", "revoked-then-ran"), (finding.Id, finding.Problem));
    }

    [Fact]
    public void A_revoke_without_an_answer_leaves_the_task_revoked_or_finished_but_once()
    {
        var submission = Task("t1", Answer.Accepted, Expected.Success(4L), "revoked");
        submission.Revoke = new Revocation(T0, T0.AddSeconds(10), 0, Answer.Unknown, null, "timeout");
        Assert.True(Judge([submission], Journal(("t1", [Received("t1"), Revoked("t1", 1)]))).Clean);
        Assert.True(Judge([submission], Journal(("t1", [Received("t1"), Succeeded("t1")]))).Clean);
    }

    [Fact]
    public void An_accepted_canvas_must_finish_with_its_result_and_every_member_once()
    {
        var chain = new Submission
        {
            Id = "c1", Kind = "chain", Expected = Expected.Success(1L), Answer = Answer.Accepted, SentAt = T0, Status = 200,
            Members = [new Member("c1.0", Expected.Success(0L)), new Member("c1.1", Expected.Success(1L))],
        };
        var journal = Journal(("c1.0", [Received("c1.0"), Succeeded("c1.0", "0")]), ("c1.1", [Received("c1.1"), Succeeded("c1.1", "1")]));
        journal["canvas-c1"] = [new CanvasFinished("c1", TaskState.Success, Json("1"), null, T0)];
        Assert.True(Judge([chain], journal, canvases: new() { ["c1"] = new CanvasAnswer("SUCCESS", JsonValue.Create(1)) }).Clean);

        var stuck = Judge([chain], Journal(("c1.0", [Received("c1.0"), Succeeded("c1.0", "0")])),
            canvases: new() { ["c1"] = new CanvasAnswer("STARTED", null) });
        var finding = Assert.Single(stuck.Findings);
        Assert.Equal(("c1", "lost"), (finding.Id, finding.Problem));
        Assert.Contains("1 have no event in the journal", finding.Detail);
    }

    [Fact]
    public void The_monitor_index_must_agree_with_the_journal_on_state_and_retries()
    {
        var journal = Journal(("t1", [Received("t1"), Succeeded("t1")]), ("t2", [Received("t2"), Succeeded("t2")]), ("t3", [Received("t3"), Succeeded("t3")]));
        var audit = Judge([Task("t1", Answer.Accepted), Task("t2", Answer.Accepted), Task("t3", Answer.Accepted)], journal,
            index: new() { ["t1"] = new IndexRow("SUCCESS", 0), ["t2"] = new IndexRow("STARTED", 0) });
        Assert.Equal(["t2", "t3"], audit.Findings.Select(f => f.Id));
        Assert.All(audit.Findings, f => Assert.Equal(Auditor.IndexDisagrees, f.Problem));
        Assert.Equal(3, audit.IndexChecked);
    }

    [Fact]
    public void An_overrunning_task_may_succeed_only_when_its_worker_was_frozen_while_it_ran()
    {
        var expected = new Expected("FAILURE", null, "SoftTimeLimitExceededException");
        var journal = Journal(("t1", [Received("t1"), Succeeded("t1", "5", at: 8)]));
        var runs = new Dictionary<string, IReadOnlyList<RunRecord>> { ["t1"] = [Run("t1", 1)] };
        Assert.Equal("wrong", Assert.Single(Judge([Task("t1", Answer.Accepted, expected, "overrun")], journal, runs).Findings).Problem);
        var freeze = new FaultRecord(FaultPlan.Freeze, "w1", T0.AddSeconds(1.5), T0.AddSeconds(7), T0.AddSeconds(9), "");
        Assert.True(Judge([Task("t1", Answer.Accepted, expected, "overrun")], journal, runs, faults: [freeze]).Clean);
    }

    [Fact]
    public void A_task_lost_in_the_second_before_Redis_was_killed_is_what_everysec_allows_and_a_failure_under_always()
    {
        var kill = new FaultRecord(FaultPlan.RedisRestart, "", T0.AddSeconds(1), T0.AddSeconds(3), T0.AddSeconds(4), "");
        var justBefore = Task("t1", Answer.Accepted);
        var longBefore = Task("t2", Answer.Accepted);
        longBefore.SentAt = T0.AddSeconds(-10);
        var everysec = Judge([justBefore, longBefore], new(), faults: [kill], appendFsync: "everysec");
        Assert.Equal([(Auditor.LostToFsync, "t1"), ("lost", "t2")], everysec.Findings.Select(f => (f.Problem, f.Id)));
        Assert.Equal((1, 1), (everysec.ByKind["add"].LostToFsync, everysec.ByKind["add"].Lost));

        var always = Judge([justBefore], new(), faults: [kill]);
        Assert.Equal("lost", Assert.Single(always.Findings).Problem);
        Assert.True(Judge([justBefore], Journal(("t1", [Received("t1"), Succeeded("t1")])), faults: [kill], appendFsync: "everysec").Clean);
        Assert.True(Judge([justBefore], new(), faults: [kill], appendFsync: "everysec").Clean);
    }

    [Theory]
    [InlineData(200, "{}", Answer.Accepted)]
    [InlineData(400, "{\"error\":\"bad\"}", Answer.Refused)]
    [InlineData(404, "{\"error\":\"Unknown task 'chaos.add'\"}", Answer.Refused)]
    [InlineData(503, "{\"error\":\"task t1 was not accepted: the journal failed to store it\"}", Answer.Refused)]
    [InlineData(503, "{\"error\":\"the task was not acknowledged in time: … it may or may not have been accepted\"}", Answer.Unknown)]
    [InlineData(503, "{\"task-id\":\"t1\",\"outcome\":\"unknown\"}", Answer.Unknown)]
    [InlineData(500, "{\"error\":\"boom\"}", Answer.Unknown)]
    public void An_answer_is_read_as_accepted_refused_or_unknown(int status, string body, Answer expected) =>
        Assert.Equal(expected, Answers.Classify(status, body));

    [Fact]
    public void A_connection_refused_never_reached_the_node_while_a_reset_may_have()
    {
        Assert.Equal(Answer.Refused, Answers.Classify(new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.Equal(Answer.Unknown, Answers.Classify(new HttpRequestException("reset", new IOException("connection reset"))));
        Assert.Equal(Answer.Unknown, Answers.Classify(new TaskCanceledException("timeout")));
    }
}
