using System.Text.Json;
using System.Text.Json.Serialization;

namespace Jobs.Actors.Canvas;

/// <summary>
/// Journaled inside every <see cref="CanvasStarted"/> and <see cref="CanvasTreeSnapshot"/>, by name ("Chain"): a
/// reordering cannot turn stored chains into groups. Journals written before names read too (as these numbers).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<SignatureKind>))]
public enum SignatureKind
{
    Task = 0,
    Chain = 1,
    Group = 2,
    Chord = 3,
}

/// <summary>
/// Celery's signature: a task name with partial args and kwargs and options, or a chain, group or chord of
/// signatures. It is data: it travels, is journaled by its coordinator, and reads and writes Celery's JSON form
/// (<see cref="CelerySignatures"/>). Calling a signature with a parent's result prepends it to the args, unless
/// the signature is <see cref="Immutable"/> (Celery's <c>si</c>).
/// </summary>
public sealed record Signature : IJobsMessage
{
    public SignatureKind Kind { get; init; }

    /// <summary>The task name of a task signature.</summary>
    public string? Task { get; init; }

    public JsonElement? Args { get; init; }
    public JsonElement? Kwargs { get; init; }
    public bool Immutable { get; init; }

    /// <summary>The task id (or, for chains, groups and chords, the node's id); assigned when the canvas starts.</summary>
    public string? Id { get; init; }

    public string? Queue { get; init; }

    /// <summary>Seconds after it is called before the task may run.</summary>
    public double? Countdown { get; init; }

    /// <summary>Chain steps, group members, or a chord's header.</summary>
    public IReadOnlyList<Signature> Members { get; init; } = [];

    /// <summary>A chord's callback, called with the list of the header's results.</summary>
    public Signature? Body { get; init; }

    /// <summary>Called with the result when this succeeds (Celery's <c>link</c>).</summary>
    public IReadOnlyList<Signature> Link { get; init; } = [];

    /// <summary>Called with (task id, exception type, message, traceback) when this fails (Celery's <c>link_error</c>).</summary>
    public IReadOnlyList<Signature> LinkError { get; init; } = [];

    /// <summary>Celery's <c>add.s(2, 2)</c>.</summary>
    public static Signature Of(string task, params object?[] args) =>
        new() { Task = task, Args = JsonSerializer.SerializeToElement(args) };

    /// <summary>Celery's <c>add.si(2, 2)</c>: ignores the parent's result.</summary>
    public static Signature Immutably(string task, params object?[] args) => Of(task, args) with { Immutable = true };

    public static Signature Chain(params Signature[] steps) => new() { Kind = SignatureKind.Chain, Members = steps };

    public static Signature Group(params Signature[] members) => new() { Kind = SignatureKind.Group, Members = members };

    public static Signature Group(IEnumerable<Signature> members) => Group(members.ToArray());

    public static Signature Chord(IEnumerable<Signature> header, Signature body) =>
        new() { Kind = SignatureKind.Chord, Members = header.ToArray(), Body = body };

    /// <summary>Celery's <c>task.map(items)</c>: one task applying <paramref name="task"/> to each item.</summary>
    public static Signature Map(string task, IEnumerable<object?> items) => MapTask(MapTasks.Map, task, items);

    /// <summary>Celery's <c>task.starmap(items)</c>: one task applying <paramref name="task"/> to each args list.</summary>
    public static Signature Starmap(string task, IEnumerable<object?> argLists) => MapTask(MapTasks.Starmap, task, argLists);

    /// <summary>Celery's <c>task.chunks(items, n)</c>: a group of starmaps over chunks of <paramref name="size"/> args lists.</summary>
    public static Signature Chunks(string task, IEnumerable<object?> argLists, int size) =>
        Group(argLists.Chunk(size).Select(chunk => Starmap(task, chunk)));

    private static Signature MapTask(string mapper, string task, IEnumerable<object?> items) => new()
    {
        Task = mapper,
        Args = JsonSerializer.SerializeToElement(Array.Empty<object>()),
        Kwargs = JsonSerializer.SerializeToElement(new Dictionary<string, object?> { ["task"] = task, ["it"] = items.ToArray() }),
    };

    public Signature WithLink(Signature callback) => this with { Link = [.. Link, callback] };

    public Signature WithLinkError(Signature errback) => this with { LinkError = [.. LinkError, errback] };

    public Signature OnQueue(string queue) => this with { Queue = queue };

    /// <summary>Every node of the tree, depth first, links included.</summary>
    public IEnumerable<Signature> Nodes()
    {
        yield return this;
        foreach (var child in Members.Concat(Body is null ? [] : [Body]).Concat(Link).Concat(LinkError))
        {
            foreach (var node in child.Nodes())
                yield return node;
        }
    }

    /// <summary>A copy with an id on every node that has none, so the canvas is deterministic from here on.</summary>
    public Signature WithIds(Func<string> newId) => this with
    {
        Id = Id ?? newId(),
        Members = Members.Select(m => m.WithIds(newId)).ToArray(),
        Body = Body?.WithIds(newId),
        Link = Link.Select(l => l.WithIds(newId)).ToArray(),
        LinkError = LinkError.Select(l => l.WithIds(newId)).ToArray(),
    };
}

/// <summary>The names of the worker's built-in tasks behind <c>map</c> and <c>starmap</c> (Celery's own names).</summary>
public static class MapTasks
{
    public const string Map = "celery.map";
    public const string Starmap = "celery.starmap";
}
