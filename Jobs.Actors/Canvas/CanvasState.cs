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
    private static readonly JsonElement NullResult = JsonDocument.Parse("null").RootElement.Clone();

    /// <summary>The member tasks in tree order, built once from the tree.</summary>
    private MemberTable _members = MemberTable.Empty;

    /// <summary>
    /// What the members ended with. It only grows and a member counts once, so states derived one from another share
    /// it: the coordinator keeps the latest state only, and a chord of 100,000 pays no copy per result.
    /// </summary>
    private MemberOutcomes _outcomes = new(0);

    public required string CanvasId { get; init; }
    public Signature? Root { get; private init; }
    public CanvasFinished? Outcome { get; init; }

    public bool IsStarted => Root is not null;

    /// <summary>The call's <c>result_expires</c> (null: the node's).</summary>
    public TimeSpan? ResultExpires { get; private init; }

    /// <summary>
    /// Finished, and every member it sent finished too (<see cref="ICanvasFinal"/>): nothing of it changes any more, and
    /// only now may it expire, at <see cref="ResultExpiresAt"/> (null: kept for ever).
    /// </summary>
    public bool IsSettled { get; private init; }

    public DateTimeOffset? ResultExpiresAt { get; private init; }

    /// <summary>Member tasks whose outcome makes up the result (links are fire and forget).</summary>
    public int MemberCount => _members.Count;

    public int FinishedCount => _outcomes.Count;

    public bool IsMember(string taskId) => _members.IndexOf(taskId) >= 0;

    public bool HasFinished(string taskId) => _members.IndexOf(taskId) is var index and >= 0 && _outcomes.IsFinished(index);

    public static CanvasState Empty(string canvasId) => new() { CanvasId = canvasId };

    /// <summary>
    /// Why a tree (with its ids assigned) cannot run, or null. Two nodes with one id would share one task, so one
    /// outcome: a chain's second step would "finish" with its first step's result.
    /// </summary>
    public static string? Invalidity(Signature root)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in root.Nodes())
        {
            if (node.Id is { } id && !ids.Add(id))
                return $"canvas {root.Id}: two of its nodes have the id '{id}'; every task, chain, group and chord of a canvas needs an id of its own";
        }
        return null;
    }

    private static CanvasState Started(string canvasId, Signature root)
    {
        var members = new MemberTable(root);
        return new CanvasState { CanvasId = canvasId, Root = root, _members = members, _outcomes = new MemberOutcomes(members.Count) };
    }

    public CanvasState Apply(ICanvasEvent e) => e switch
    {
        CanvasStarted started => Started(CanvasId, started.Root) with { Outcome = Outcome, ResultExpires = started.ResultExpires },
        CanvasMemberFinished finished => Record(finished),
        CanvasFinished outcome => this with
        {
            Outcome = outcome, IsSettled = outcome.StillRunning is not { Count: > 0 }, ResultExpiresAt = outcome.ResultExpiresAt,
        },
        CanvasSettled settled => this with { IsSettled = true, ResultExpiresAt = settled.ResultExpiresAt },
        _ => throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "unknown canvas event"),
    };

    private CanvasState Record(CanvasMemberFinished finished)
    {
        var index = _members.IndexOf(finished.TaskId);
        if (index >= 0)
            _outcomes.Record(index, finished.State, finished.Result, finished.Error);
        return this;
    }

    /// <summary>The tree alone, written once: progress snapshots then hold outcomes by member index only.</summary>
    public CanvasTreeSnapshot ToTreeSnapshot() =>
        new(CanvasId, Root ?? throw new InvalidOperationException($"canvas {CanvasId} has no tree yet"), ResultExpires);

    public CanvasSnapshot ToSnapshot(long treeSequenceNr) => _outcomes.ToSnapshot(CanvasId, treeSequenceNr, Outcome) with
    {
        Settled = IsSettled && Outcome?.StillRunning is { Count: > 0 } ? new CanvasSettled(CanvasId, Outcome.Timestamp, ResultExpiresAt) : null,
    };

    /// <summary>A state from the tree's snapshot alone (no progress snapshot was taken after it).</summary>
    public static CanvasState FromSnapshot(CanvasTreeSnapshot tree) => Started(tree.CanvasId, tree.Root) with { ResultExpires = tree.ResultExpires };

    /// <summary>A state from the tree's snapshot and the latest progress snapshot.</summary>
    public static CanvasState FromSnapshot(CanvasTreeSnapshot tree, CanvasSnapshot progress)
    {
        var state = FromSnapshot(tree);
        if (progress.Outcome is { } outcome)
            state = state.Apply(outcome);
        if (progress.Settled is { } settled)
            state = state.Apply(settled);
        if (progress.States.Length != state._members.Count)
            throw new InvalidOperationException(
                $"canvas {tree.CanvasId}: its snapshot has {progress.States.Length} members, its tree {state._members.Count}");
        state._outcomes.Restore(progress);
        return state;
    }

    /// <summary>
    /// Celery's precedence for the canvas: the call's <c>result_expires</c>, else the node's; zero keeps it for ever.
    /// Counted from <paramref name="settled"/>, when the canvas and every member it sent had finished.
    /// </summary>
    public DateTimeOffset? ResultExpiryFor(DateTimeOffset settled, TimeSpan nodeDefault) =>
        (ResultExpires ?? nodeDefault) is var keep && keep > TimeSpan.Zero ? settled + keep : null;

    /// <summary>A settled canvas past its expiry reads as PENDING, as an expired task does, until the sweeper purges it.</summary>
    public bool IsResultExpired(DateTimeOffset now) => IsSettled && ResultExpiresAt is { } at && at <= now;

    /// <summary>This state with its expiry brought forward to <paramref name="now"/> (it was purged).</summary>
    public CanvasState ExpiredAt(DateTimeOffset now) => IsResultExpired(now) ? this : this with { ResultExpiresAt = now };

    /// <summary>The members the outcome left running that have not finished yet: the canvas settles once there are none.</summary>
    public IReadOnlyList<string> StillRunning =>
        IsSettled || Outcome?.StillRunning is not { Count: > 0 } running ? [] : running.Where(id => !HasFinished(id)).ToArray();

    /// <summary>A member whose result is still counted after the outcome: one that was running when the canvas finished.</summary>
    public bool WaitsFor(string taskId) => Outcome is null || (!IsSettled && Outcome.StillRunning is { } running && running.Contains(taskId));

    /// <summary>The members with an outcome: the ones whose journal state expires with the canvas (the others never ran).</summary>
    public IEnumerable<string> FinishedMembers()
    {
        for (var i = 0; i < _members.Count; i++)
        {
            if (_outcomes.IsFinished(i))
                yield return _members[i].Id!;
        }
    }

    /// <summary>What a reader sees at <paramref name="now"/>: an expired canvas reads as PENDING, with no members.</summary>
    public CanvasResult ToResult(DateTimeOffset now, int offset = 0, int? limit = null) => IsResultExpired(now)
        ? new CanvasResult(CanvasId, TaskState.Pending, null, null, [], ResultExpires: ResultExpiresAt, ResultExpired: true)
        : ToResult(offset, limit) with { ResultExpires = ResultExpiresAt };

    /// <summary>The members from <paramref name="offset"/> on, at most <paramref name="limit"/> of them (all when null).</summary>
    public CanvasResult ToResult(int offset = 0, int? limit = null)
    {
        var from = Math.Clamp(offset, 0, _members.Count);
        var count = Math.Min(_members.Count - from, Math.Max(0, limit ?? int.MaxValue));
        var members = new CanvasMember[count];
        for (var i = 0; i < count; i++)
        {
            var node = _members[from + i];
            members[i] = new CanvasMember(node.Id!, node.Task!, _outcomes.IsFinished(from + i) ? _outcomes.State(from + i) : TaskState.Pending);
        }
        return Outcome is { } outcome
            ? new CanvasResult(CanvasId, outcome.State, outcome.Result, outcome.Error, members, _members.Count, from)
            : new CanvasResult(CanvasId, IsStarted ? TaskState.Started : TaskState.Pending, null, null, members, _members.Count, from);
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
    /// <remarks>
    /// <paramref name="upcoming"/>, if given, gets the chain steps that run next: a task right after a task in flight,
    /// whose entity the coordinator may start early (its recovery read then leaves the chain's critical path).
    /// </remarks>
    public (NodeStatus Status, IReadOnlyList<CanvasSubmission> Submissions) Evaluate(Func<string, bool>? alreadySent = null,
        Dictionary<string, NodeStatus>? settled = null, int room = int.MaxValue, ICollection<string>? upcoming = null)
    {
        var submissions = new Submissions(alreadySent ?? (_ => false), settled ?? new Dictionary<string, NodeStatus>(), room) { Upcoming = upcoming };
        var status = Root is null ? NodeStatus.Waiting : Evaluate(Root, null, submissions);
        return (status, submissions);
    }

    /// <summary>The tasks to send, skipping those sent before without building their arguments again.</summary>
    private sealed class Submissions(Func<string, bool> alreadySent, Dictionary<string, NodeStatus> settled, int room) : List<CanvasSubmission>
    {
        private int _members;

        public Dictionary<string, NodeStatus> Settled { get; } = settled;

        public ICollection<string>? Upcoming { get; init; }

        public bool Wants(Signature node) => !alreadySent(node.Id!);

        /// <summary>Sent before, or in this evaluation (a task's submission is the last one added when it returns).</summary>
        public bool InFlight(Signature task) => !Wants(task) || (Count > 0 && this[^1].TaskId == task.Id);

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
        var index = _members.IndexOf(node.Id!);
        if (!_outcomes.IsFinished(index))
        {
            if (submissions.WantsMember(node))
                submissions.AddMember(Submission(node, input, awaitResult: true));
            return NodeStatus.Waiting;
        }
        var state = _outcomes.State(index);
        if (state == TaskState.Success)
        {
            var done = new NodeStatus.Done(_outcomes, index);
            if (node.Link.Count > 0)
            {
                foreach (var link in node.Link)
                    Fire(link, done.Result, submissions);
            }
            return done;
        }
        var error = _outcomes.Error(index) ?? new TaskError(state == TaskState.Revoked ? "TaskRevokedError" : "Exception",
            $"task {node.Id} was {state.ToCelery()}", "");
        var failure = new NodeStatus.Failed(node.Id!, error);
        foreach (var errback in node.LinkError)
            FireError(errback, failure, submissions);
        return failure;
    }

    /// <summary>Each step gets the previous step's result; the chain stops at the first failure.</summary>
    private NodeStatus EvaluateChain(Signature node, JsonElement? input, Submissions submissions)
    {
        var carried = input;
        var steps = node.Members;
        for (var i = 0; i < steps.Count; i++)
        {
            switch (Evaluate(steps[i], carried, submissions))
            {
                case NodeStatus.Done done:
                    carried = done.Result;
                    break;
                case var other:
                    if (other is NodeStatus.WaitingStatus && submissions.Upcoming is { } upcoming && i + 1 < steps.Count
                        && steps[i].Kind == SignatureKind.Task && steps[i + 1].Kind == SignatureKind.Task && submissions.InFlight(steps[i]))
                        upcoming.Add(steps[i + 1].Id!);
                    return other;
            }
        }
        return new NodeStatus.Done(carried ?? NullResult);
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
        return new NodeStatus.Done(ListOf(members.Select(m => (NodeStatus.Done)submissions.Settled[m.Id!])));
    }

    /// <summary>Writes the members' results as one JSON array, without parsing each of them.</summary>
    private static JsonElement ListOf(IEnumerable<NodeStatus.Done> results)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var result in results)
                result.WriteTo(writer);
            writer.WriteEndArray();
        }
        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
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

    /// <summary>Done with a result; a member task's result stays in the canvas's outcomes until it is read.</summary>
    public sealed record Done : NodeStatus
    {
        private readonly MemberOutcomes? _outcomes;
        private readonly int _index;
        private JsonElement? _result;

        public Done(JsonElement result) => _result = result;

        internal Done(MemberOutcomes outcomes, int index)
        {
            _outcomes = outcomes;
            _index = index;
        }

        public JsonElement Result => _result ??= _outcomes!.Result(_index);

        internal void WriteTo(Utf8JsonWriter writer)
        {
            if (_result is { } result)
                result.WriteTo(writer);
            else
                _outcomes!.WriteResult(_index, writer);
        }
    }

    public sealed record Failed(string TaskId, TaskError Error) : NodeStatus;

    internal sealed record WaitingStatus : NodeStatus;
}
