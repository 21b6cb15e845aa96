using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Jobs.Chaos.Load;

/// <summary>How a submitter must read an answer: done, certainly not done, or it cannot know.</summary>
public enum Answer
{
    /// <summary>200: journaled; it must finish exactly once.</summary>
    Accepted,

    /// <summary>A refusal (4xx, a 503 that says "not accepted", a connection refused): it must never run.</summary>
    Refused,

    /// <summary>No answer, a timeout, or a 503/5xx that does not know: it must end never run or run exactly once.</summary>
    Unknown,
}

/// <summary>The terminal outcome a task must reach: state, result (on success), error type (on failure) and retries.</summary>
public sealed record Expected(string State, JsonNode? Result = null, string? ErrorType = null, int Retries = 0)
{
    public static Expected Success(JsonNode? result, int retries = 0) => new("SUCCESS", result, null, retries);
}

/// <summary>A member of a canvas, given its id by the submitter so the audit can read its journal.</summary>
public sealed record Member(string Id, Expected Expected);

/// <summary>One item of the load as its submitter logged it: what was sent, what the answer was, what must follow.</summary>
public sealed class Submission
{
    public required string Id { get; init; }

    /// <summary>add, countdown, flaky, overrun, revoked, chain, chord or probe.</summary>
    public required string Kind { get; init; }

    public required Expected Expected { get; init; }

    /// <summary>Of a canvas: its tasks, a chord's body last.</summary>
    public IReadOnlyList<Member> Members { get; init; } = [];

    public bool IsCanvas => Kind is "chain" or "chord";

    public DateTimeOffset SentAt { get; set; }
    public double SubmitMs { get; set; }
    public int Status { get; set; }
    public string? Reply { get; set; }
    public Answer Answer { get; set; }

    /// <summary>Of a task with a countdown: when it is due, as the submitter computed it.</summary>
    public DateTimeOffset? DueAt { get; set; }

    /// <summary>Of a task the load revokes: the revoke as its submitter logged it.</summary>
    public Revocation? Revoke { get; set; }

    public JsonObject ToJson() => new()
    {
        ["id"] = Id, ["kind"] = Kind, ["sent"] = SentAt.ToString("O"), ["submit_ms"] = Math.Round(SubmitMs, 2), ["status"] = Status,
        ["answer"] = Answer.ToString(), ["reply"] = Reply, ["members"] = Members.Count,
        ["revoke"] = Revoke is null ? null : new JsonObject
        {
            ["sent"] = Revoke.SentAt.ToString("O"), ["answered"] = Revoke.AnsweredAt.ToString("O"), ["status"] = Revoke.Status, ["answer"] = Revoke.Answer.ToString(), ["state"] = Revoke.State,
            ["reply"] = Revoke.Reply,
        },
    };
}

/// <summary>A revoke as its submitter logged it; <see cref="State"/> is the task's state in a 200 answer.</summary>
public sealed record Revocation(DateTimeOffset SentAt, DateTimeOffset AnsweredAt, int Status, Answer Answer, string? State, string? Reply);

/// <summary>
/// How an HTTP answer is read, in one place. A 503 is a refusal unless it says its outcome is unknown ("may or may not
/// have been accepted", or an explicit unknown outcome); a connection refused never reached the node; any other
/// transport failure, a timeout or another 5xx leaves the outcome unknown.
/// </summary>
public static class Answers
{
    public static Answer Classify(int status, string? body) => status switch
    {
        >= 200 and < 300 => Answer.Accepted,
        503 when SaysUnknown(body) => Answer.Unknown,
        503 => Answer.Refused,
        >= 400 and < 500 => Answer.Refused,
        _ => Answer.Unknown,
    };

    public static Answer Classify(Exception transport) =>
        transport is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } }
            ? Answer.Refused
            : Answer.Unknown;

    private static bool SaysUnknown(string? body) =>
        body is not null && (body.Contains("may or may not", StringComparison.OrdinalIgnoreCase) ||
                             body.Contains("unknown", StringComparison.OrdinalIgnoreCase));
}
