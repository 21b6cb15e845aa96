using System.Text.Json;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Canvas;

/// <summary>Every message a canvas coordinator accepts; routed by <see cref="CanvasId"/>.</summary>
public interface ICanvasCommand : IJobsMessage
{
    string CanvasId { get; }
}

/// <summary>Starts a workflow. Answered with <see cref="CanvasAccepted"/> once <see cref="CanvasStarted"/> is journaled.</summary>
public sealed record StartCanvas(string CanvasId, Signature Root) : ICanvasCommand;

/// <summary>The canvas's tree with every id assigned: the root's id is the canvas id.</summary>
public sealed record CanvasAccepted(string CanvasId, Signature Root) : IJobsMessage;

public sealed record GetCanvasResult(string CanvasId) : ICanvasCommand;

/// <summary>Asks for the tree itself, for drawing the canvas. Answered with <see cref="CanvasTree"/>.</summary>
public sealed record GetCanvasTree(string CanvasId) : ICanvasCommand;

/// <summary>The canvas's tree with every id (null if it never started) and where its members stand.</summary>
public sealed record CanvasTree(string CanvasId, Signature? Root, CanvasResult Result) : IJobsMessage;

/// <summary>Answered once the canvas is ready, by message.</summary>
public sealed record AwaitCanvasResult(string CanvasId) : ICanvasCommand;

/// <summary>One member task as the coordinator last heard of it.</summary>
public sealed record CanvasMember(string TaskId, string Task, TaskState State);

/// <summary>The state and result of a canvas: a chain's last result, a group's or chord header's ordered list, a chord's body result.</summary>
public sealed record CanvasResult(
    string CanvasId,
    TaskState State,
    JsonElement? Result,
    TaskError? Error,
    IReadOnlyList<CanvasMember> Members) : IJobsMessage
{
    [System.Text.Json.Serialization.JsonIgnore]
    public bool Ready => State.IsReady();
}

public interface ICanvasEvent : IJobsMessage
{
    string CanvasId { get; }
}

public sealed record CanvasStarted(string CanvasId, Signature Root, DateTimeOffset Timestamp) : ICanvasEvent;

/// <summary>A member task was ready: counted once, by id, however often its result arrives.</summary>
public sealed record CanvasMemberFinished(string CanvasId, string TaskId, TaskState State, JsonElement? Result, TaskError? Error)
    : ICanvasEvent;

public sealed record CanvasFinished(string CanvasId, TaskState State, JsonElement? Result, TaskError? Error, DateTimeOffset Timestamp)
    : ICanvasEvent;

/// <summary>The coordinator's state as a snapshot, so a long canvas recovers without replaying every member.</summary>
public sealed record CanvasSnapshot(
    string CanvasId,
    Signature? Root,
    IReadOnlyList<CanvasMemberFinished> Finished,
    CanvasFinished? Outcome) : IJobsMessage;
