using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Canvas;

/// <summary>A task the coordinator must send: its arguments are only known once its parents are done.</summary>
public sealed record CanvasSubmission(string TaskId, string Task, JsonElement Args, JsonElement Kwargs, string? Queue, double? Countdown,
    bool AwaitResult);

/// <summary>
/// A canvas as a pure state machine: the tree (with ids), the outcomes of finished members, and
/// <see cref="Evaluate"/>, which from those alone says what is done, what failed, and which tasks must run next.
/// Evaluating again after a crash gives the same submissions, which are idempotent by task id.
/// </summary>
public sealed record CanvasState
{
    private static readonly JsonElement EmptyArgs = JsonDocument.Parse("[]").RootElement.Clone();
    private static readonly JsonElement EmptyKwargs = JsonDocument.Parse("{}").RootElement.Clone();

    public required string CanvasId { get; init; }
    public Signature? Root { get; init; }
    public ImmutableDictionary<string, CanvasMemberFinished> Finished { get; init; } = ImmutableDictionary<string, CanvasMemberFinished>.Empty;
    public CanvasFinished? Outcome { get; init; }

    /// <summary>Member task ids whose outcome makes up the result (links are fire and forget).</summary>
    public ImmutableHashSet<string> MemberIds { get; init; } = ImmutableHashSet<string>.Empty;

    public bool IsStarted => Root is not null;

    public static CanvasState Empty(string canvasId) => new() { CanvasId = canvasId };

    public CanvasState Apply(ICanvasEvent e) => e switch
    {
        CanvasStarted started => this with { Root = started.Root, MemberIds = MembersOf(started.Root).ToImmutableHashSet() },
        CanvasMemberFinished finished => this with { Finished = Finished.SetItem(finished.TaskId, finished) },
        CanvasFinished outcome => this with { Outcome = outcome },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown canvas event"),
    };

    public CanvasSnapshot ToSnapshot() => new(CanvasId, Root, Finished.Values.ToArray(), Outcome);

    public static CanvasState FromSnapshot(CanvasSnapshot snapshot) => new()
    {
        CanvasId = snapshot.CanvasId,
        Root = snapshot.Root,
        MemberIds = snapshot.Root is null ? ImmutableHashSet<string>.Empty : MembersOf(snapshot.Root).ToImmutableHashSet(),
        Finished = snapshot.Finished.ToImmutableDictionary(f => f.TaskId),
        Outcome = snapshot.Outcome,
    };

    /// <summary>Task leaves whose outcomes the canvas waits for (not links or error links).</summary>
    private static IEnumerable<string> MembersOf(Signature node) => node.Kind switch
    {
        SignatureKind.Task => [node.Id!],
        SignatureKind.Chord => node.Members.SelectMany(MembersOf).Concat(MembersOf(node.Body!)),
        _ => node.Members.SelectMany(MembersOf),
    };

    public CanvasResult ToResult()
    {
        var members = Root is null
            ? []
            : Root.Nodes().Where(n => n.Kind == SignatureKind.Task && MemberIds.Contains(n.Id!)).DistinctBy(n => n.Id)
                .Select(n => new CanvasMember(n.Id!, n.Task!, Finished.TryGetValue(n.Id!, out var f) ? f.State : TaskState.Pending))
                .ToArray();
        return Outcome is { } outcome
            ? new CanvasResult(CanvasId, outcome.State, outcome.Result, outcome.Error, members)
            : new CanvasResult(CanvasId, IsStarted ? TaskState.Started : TaskState.Pending, null, null, members);
    }

    /// <summary>
    /// Where the whole tree stands, and what must be sent for it to go on; tasks for which
    /// <paramref name="alreadySent"/> is true are left out, so a large canvas costs little to re-evaluate.
    /// </summary>
    /// <remarks>
    /// <paramref name="settled"/> remembers nodes that are done or failed — final, since outcomes never change —
    /// so re-evaluating after each member costs a lookup per settled node instead of walking its subtree again.
    /// </remarks>
    /// <remarks>
    /// At most <paramref name="room"/> member tasks are returned (the coordinator's window of members in flight);
    /// callbacks are never held back, since a finished tree is not evaluated again.
    /// </remarks>
    public (NodeStatus Status, IReadOnlyList<CanvasSubmission> Submissions) Evaluate(Func<string, bool>? alreadySent = null,
        Dictionary<string, NodeStatus>? settled = null, int room = int.MaxValue)
    {
        var submissions = new Submissions(alreadySent ?? (_ => false), settled ?? new Dictionary<string, NodeStatus>(), room);
        var status = Root is null ? NodeStatus.Waiting : Evaluate(Root, null, submissions);
        return (status, submissions);
    }

    /// <summary>The tasks to send, skipping those sent before without building their arguments again.</summary>
    private sealed class Submissions(Func<string, bool> alreadySent, Dictionary<string, NodeStatus> settled, int room) : List<CanvasSubmission>
    {
        private int _members;

        public Dictionary<string, NodeStatus> Settled { get; } = settled;

        public bool Wants(Signature node) => !alreadySent(node.Id!);

        public bool WantsMember(Signature node) => _members < room && Wants(node);

        public void AddMember(CanvasSubmission member)
        {
            Add(member);
            _members++;
        }
    }

    private NodeStatus Evaluate(Signature node, JsonElement? input, Submissions submissions)
    {
        if (submissions.Settled.TryGetValue(node.Id!, out var known))
            return known;
        var status = node.Kind switch
        {
            SignatureKind.Task => EvaluateTask(node, input, submissions),
            SignatureKind.Chain => EvaluateChain(node, input, submissions),
            SignatureKind.Group => EvaluateGroup(node.Members, input, submissions),
            SignatureKind.Chord => EvaluateChord(node, input, submissions),
            _ => throw new ArgumentOutOfRangeException(nameof(node), node.Kind, "unknown signature kind"),
        };
        switch (status)
        {
            case NodeStatus.Done done when node.Kind != SignatureKind.Task:
                foreach (var link in node.Link)
                    Fire(link, done.Result, submissions);
                break;
            case NodeStatus.Failed failed when node.Kind != SignatureKind.Task:
                foreach (var errback in node.LinkError)
                    FireError(errback, failed, submissions);
                break;
        }
        if (status is not NodeStatus.WaitingStatus)
            submissions.Settled[node.Id!] = status;
        return status;
    }

    private NodeStatus EvaluateTask(Signature node, JsonElement? input, Submissions submissions)
    {
        if (!Finished.TryGetValue(node.Id!, out var finished))
        {
            if (submissions.WantsMember(node))
                submissions.AddMember(Submission(node, input, awaitResult: true));
            return NodeStatus.Waiting;
        }
        if (finished.State == TaskState.Success)
        {
            var result = finished.Result ?? JsonDocument.Parse("null").RootElement;
            foreach (var link in node.Link)
                Fire(link, result, submissions);
            return new NodeStatus.Done(result);
        }
        var error = finished.Error ?? new TaskError(finished.State == TaskState.Revoked ? "TaskRevokedError" : "Exception",
            $"task {node.Id} was {finished.State.ToCelery()}", "");
        var failure = new NodeStatus.Failed(node.Id!, error);
        foreach (var errback in node.LinkError)
            FireError(errback, failure, submissions);
        return failure;
    }

    /// <summary>Each step gets the previous step's result; the chain stops at the first failure.</summary>
    private NodeStatus EvaluateChain(Signature node, JsonElement? input, Submissions submissions)
    {
        var carried = input;
        foreach (var step in node.Members)
        {
            switch (Evaluate(step, carried, submissions))
            {
                case NodeStatus.Done done:
                    carried = done.Result;
                    break;
                case var other:
                    return other;
            }
        }
        return new NodeStatus.Done(carried ?? JsonDocument.Parse("null").RootElement);
    }

    /// <summary>Every member gets the same input; the result is the members' results in order.</summary>
    private NodeStatus EvaluateGroup(IReadOnlyList<Signature> members, JsonElement? input, Submissions submissions)
    {
        NodeStatus.Failed? firstFailure = null;
        var waiting = false;
        foreach (var member in members)
        {
            switch (Evaluate(member, input, submissions))
            {
                case NodeStatus.Failed failed:
                    firstFailure ??= failed;
                    break;
                case NodeStatus.Done:
                    break;
                default:
                    waiting = true;
                    break;
            }
        }
        if (firstFailure is not null)
            return firstFailure;
        if (waiting)
            return NodeStatus.Waiting;
        // Every member is settled now, so this second pass only reads the cache, once per group.
        return new NodeStatus.Done(ListOf(members.Select(m => ((NodeStatus.Done)submissions.Settled[m.Id!]).Result)));
    }

    /// <summary>Writes the members' results as one JSON array, without re-parsing each of them.</summary>
    private static JsonElement ListOf(IEnumerable<JsonElement> results)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var result in results)
                result.WriteTo(writer);
            writer.WriteEndArray();
        }
        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
    }

    /// <summary>The body runs once, after every header member, with their results; a failed member fails the chord.</summary>
    private NodeStatus EvaluateChord(Signature node, JsonElement? input, Submissions submissions)
    {
        switch (EvaluateGroup(node.Members, input, submissions))
        {
            case NodeStatus.Done header:
                return Evaluate(node.Body!, header.Result, submissions);
            case NodeStatus.Failed failed:
                return new NodeStatus.Failed(failed.TaskId, new TaskError("ChordError",
                    $"Dependency {failed.TaskId} raised {failed.Error.Type}({JsonSerializer.Serialize(failed.Error.Message)})", failed.Error.Traceback));
            default:
                return NodeStatus.Waiting;
        }
    }

    private void Fire(Signature callback, JsonElement result, Submissions submissions)
    {
        foreach (var leaf in FirstTasks(callback).Where(submissions.Wants))
            submissions.Add(Submission(leaf, result, awaitResult: false));
    }

    private void FireError(Signature errback, NodeStatus.Failed failure, Submissions submissions)
    {
        var details = JsonSerializer.SerializeToElement(new[] { failure.TaskId, failure.Error.Type, failure.Error.Message, failure.Error.Traceback });
        foreach (var leaf in FirstTasks(errback).Where(submissions.Wants))
            submissions.Add(Submission(leaf, details, awaitResult: false, spread: true));
    }

    /// <summary>Callbacks are fired as tasks; a callback canvas starts with its first task(s).</summary>
    private static IEnumerable<Signature> FirstTasks(Signature node) => node.Kind switch
    {
        SignatureKind.Task => [node],
        SignatureKind.Chain => node.Members.Count > 0 ? FirstTasks(node.Members[0]) : [],
        _ => node.Members.SelectMany(FirstTasks),
    };

    /// <summary>The parent's result goes first in the args (Celery's partial application) unless immutable.</summary>
    private static CanvasSubmission Submission(Signature node, JsonElement? input, bool awaitResult, bool spread = false)
    {
        var args = node.Args is { ValueKind: JsonValueKind.Array } given ? given : EmptyArgs;
        if (input is { } parent && !node.Immutable)
        {
            var combined = new JsonArray();
            if (spread && parent.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in parent.EnumerateArray())
                    combined.Add(JsonNode.Parse(item.GetRawText()));
            }
            else
            {
                combined.Add(JsonNode.Parse(parent.GetRawText()));
            }
            foreach (var item in args.EnumerateArray())
                combined.Add(JsonNode.Parse(item.GetRawText()));
            args = JsonSerializer.SerializeToElement(combined);
        }
        return new CanvasSubmission(node.Id!, node.Task!, args, node.Kwargs ?? EmptyKwargs, node.Queue, node.Countdown, awaitResult);
    }
}

public abstract record NodeStatus
{
    public static readonly NodeStatus Waiting = new WaitingStatus();

    public sealed record Done(JsonElement Result) : NodeStatus;

    public sealed record Failed(string TaskId, TaskError Error) : NodeStatus;

    internal sealed record WaitingStatus : NodeStatus;
}
