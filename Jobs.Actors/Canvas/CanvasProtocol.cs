using System.Text.Json;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Canvas;

/// <summary>Every message a canvas coordinator accepts; routed by <see cref="CanvasId"/>.</summary>
public interface ICanvasCommand : IJobsMessage
{
    string CanvasId { get; }
}

/// <summary>
/// Starts a workflow. Answered with <see cref="CanvasAccepted"/> once <see cref="CanvasStarted"/> is journaled, with
/// <see cref="CanvasRejected"/> when the tree cannot run, or with <see cref="Tasks.CommandFailed"/> when the journal did
/// not confirm the write. <see cref="ResultExpires"/> is the call's <c>result_expires</c> (null: the node's
/// <c>jobs.tasks.result-expires</c>; zero keeps the canvas and its members for ever).
/// </summary>
public sealed record StartCanvas(string CanvasId, Signature Root, TimeSpan? ResultExpires = null) : ICanvasCommand;

/// <summary>
/// The canvas's tree with every id assigned (the root's id is the canvas id), or null when the starter gave every
/// node its id and so knows the tree already.
/// </summary>
public sealed record CanvasAccepted(string CanvasId, Signature? Root) : IJobsMessage;

/// <summary>Answers a <see cref="StartCanvas"/> whose tree cannot run as given (two nodes share an id): nothing was started.</summary>
public sealed record CanvasRejected(string CanvasId, string Reason) : IJobsMessage;

/// <summary>
/// Asks where a canvas stands, with at most <see cref="MembersLimit"/> members from <see cref="MembersOffset"/> on
/// (all of them when the limit is null): a chord of 100,000 need not list every member in every answer.
/// </summary>
public sealed record GetCanvasResult(string CanvasId, int MembersOffset = 0, int? MembersLimit = null) : ICanvasCommand;

/// <summary>Asks for the tree itself, for drawing the canvas. Answered with <see cref="CanvasTree"/>.</summary>
public sealed record GetCanvasTree(string CanvasId) : ICanvasCommand;

/// <summary>The canvas's tree with every id (null if it never started) and where its members stand.</summary>
public sealed record CanvasTree(string CanvasId, Signature? Root, CanvasResult Result) : IJobsMessage;

/// <summary>Answered once the canvas is ready, by message; the members are paged as for <see cref="GetCanvasResult"/>.</summary>
public sealed record AwaitCanvasResult(string CanvasId, int MembersOffset = 0, int? MembersLimit = null) : ICanvasCommand;

/// <summary>
/// Asks a finished canvas to remove itself (its events and snapshots) and the journal state of its members, in batches
/// of <see cref="BatchSize"/>: the sweeper's, once the canvas's expiry is due. Idempotent; answered with
/// <see cref="CanvasExpired"/>, or with <see cref="Tasks.CommandFailed"/> while the canvas or a member it sent still runs.
/// </summary>
public sealed record ExpireCanvas(string CanvasId, int BatchSize) : ICanvasCommand;

/// <summary>The canvas and <see cref="MembersPurged"/> members are gone from the journal (or were already).</summary>
public sealed record CanvasExpired(string CanvasId, int MembersPurged) : IJobsMessage;

/// <summary>One member task as the coordinator last heard of it.</summary>
public sealed record CanvasMember(string TaskId, string Task, TaskState State);

/// <summary>
/// The state and result of a canvas: a chain's last result, a group's or chord header's ordered list, a chord's body
/// result. <see cref="Members"/> is the asked page of its <see cref="MemberCount"/> members, from <see cref="MembersOffset"/>.
/// An expired canvas reads PENDING with no members, <see cref="ResultExpired"/> set and when it expired.
/// </summary>
public sealed record CanvasResult(
    string CanvasId,
    TaskState State,
    JsonElement? Result,
    TaskError? Error,
    IReadOnlyList<CanvasMember> Members,
    int MemberCount = 0,
    int MembersOffset = 0,
    DateTimeOffset? ResultExpires = null,
    bool ResultExpired = false) : IJobsMessage
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Ready => State.IsReady();
}

public interface ICanvasEvent : IJobsMessage
{
    string CanvasId { get; }
}

public sealed record CanvasStarted(string CanvasId, Signature Root, DateTimeOffset Timestamp, TimeSpan? ResultExpires = null) : ICanvasEvent;

/// <summary>A member task was ready: counted once, by id, however often its result arrives.</summary>
public sealed record CanvasMemberFinished(string CanvasId, string TaskId, TaskState State, JsonElement? Result, TaskError? Error)
    : ICanvasEvent;

/// <summary>
/// An event after which the canvas may be settled: finished, with every member it sent finished too, so nothing of it
/// changes any more. <see cref="ResultExpiresAt"/> set means it is, and when it (its events, snapshots and members)
/// expires; the journal's expiry index is written from it in the same write (<c>Retention.TaskEventAdapters</c>).
/// </summary>
public interface ICanvasFinal : ICanvasEvent
{
    DateTimeOffset? ResultExpiresAt { get; }
}

/// <summary>
/// The canvas's outcome. <see cref="StillRunning"/>: members it had sent that had not finished (a group's other members
/// when one failed); the canvas waits for them (<see cref="CanvasSettled"/>) before it may expire, else
/// <see cref="ResultExpiresAt"/> is set here.
/// </summary>
public sealed record CanvasFinished(string CanvasId, TaskState State, JsonElement? Result, TaskError? Error, DateTimeOffset Timestamp,
    DateTimeOffset? ResultExpiresAt = null, IReadOnlyList<string>? StillRunning = null) : ICanvasFinal;

/// <summary>The members still running when the canvas finished have finished too: from now on it expires at <see cref="ResultExpiresAt"/>.</summary>
public sealed record CanvasSettled(string CanvasId, DateTimeOffset Timestamp, DateTimeOffset? ResultExpiresAt) : ICanvasFinal;

/// <summary>
/// Where a canvas stands, as a snapshot, so a long canvas recovers without replaying every member. It holds no tree:
/// the tree is snapshotted once (<see cref="CanvasTreeSnapshot"/>) at <see cref="TreeSequenceNr"/>, and members are
/// named by their index in the tree's member order. <see cref="States"/> has a byte per member (0 while it runs, else
/// its <see cref="TaskState"/> + 1), <see cref="Results"/> the results of the finished members in member order, and
/// <see cref="Errors"/> the errors of the members that failed.
/// </summary>
public sealed record CanvasSnapshot(
    string CanvasId,
    long TreeSequenceNr,
    byte[] States,
    JsonElement Results,
    IReadOnlyList<CanvasMemberError> Errors,
    CanvasFinished? Outcome,
    CanvasSettled? Settled = null) : IJobsMessage;

/// <summary>The error of the member at <see cref="Index"/> in the tree's member order.</summary>
public sealed record CanvasMemberError(int Index, TaskError Error) : IJobsMessage;

/// <summary>
/// The canvas's tree, snapshotted once, at the sequence number of its <see cref="CanvasStarted"/> event, so the
/// snapshots of a big canvas's progress need not carry its tree again and again.
/// </summary>
public sealed record CanvasTreeSnapshot(string CanvasId, Signature Root, TimeSpan? ResultExpires = null) : IJobsMessage;
