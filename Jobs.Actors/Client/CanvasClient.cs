using Akka.Actor;
using Jobs.Actors.Canvas;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Client;

/// <summary>Starts canvases (chain, group, chord, …) on their coordinators and awaits their results by message.</summary>
public sealed class CanvasClient(IActorRef canvases, TimeSpan submitTimeout, ClientWaits? waits = null)
{
    /// <summary>
    /// Starts <paramref name="root"/>; answers once its coordinator has journaled it, with every id assigned. A tree
    /// in which two nodes share an id is refused here (<see cref="InvalidCanvasException"/>). A start that fails says
    /// whether the canvas was certainly not started (<see cref="TaskNotAcceptedException"/>) or may have been
    /// (<see cref="TaskOutcomeUnknownException"/>); starting again with the same id is safe.
    /// </summary>
    public Task<CanvasHandle> ApplyAsync(Signature root, CancellationToken cancellationToken = default) =>
        ApplyAsync(root, CanvasOptions.None, cancellationToken);

    /// <inheritdoc cref="ApplyAsync(Signature, CancellationToken)"/>
    public async Task<CanvasHandle> ApplyAsync(Signature root, CanvasOptions options, CancellationToken cancellationToken = default)
    {
        if (options.ResultExpires is { } keep && keep < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(options), keep, "ResultExpires must not be negative (zero keeps the canvas for ever)");
        var id = root.Id ?? TaskIds.New();
        // Ids are given here, so the coordinator need not send a 100,000-member tree back to say which it chose.
        var tree = (root with { Id = id }).WithIds(TaskIds.New);
        if (CanvasState.Invalidity(tree) is { } invalid)
            throw new InvalidCanvasException(invalid);
        object answer;
        try
        {
            answer = await canvases.Ask<object>(new StartCanvas(id, tree, options.ResultExpires), submitTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            throw new TaskOutcomeUnknownException(id,
                $"canvas {id} was not acknowledged within {submitTimeout.TotalSeconds:0.###} s: the journal or the cluster is unavailable or " +
                "overloaded; it may or may not have been started");
        }
        return answer switch
        {
            CanvasAccepted accepted => new CanvasHandle(this, accepted.CanvasId, accepted.Root ?? tree),
            CanvasRejected rejected => throw new InvalidCanvasException(rejected.Reason),
            CommandFailed failed => throw CommandFailures.ForWrite(failed),
            _ => throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} to {nameof(StartCanvas)}"),
        };
    }

    public CanvasHandle Handle(string canvasId) => new(this, canvasId, null);

    /// <summary>How long waits without a timeout of their own last, and how often waiters ask again.</summary>
    public ClientWaits Waits { get; } = waits ?? ClientWaits.Default;

    internal IActorRef Canvases => canvases;

    /// <summary>A read: a <see cref="CommandFailed"/> answer means the canvas could not be read now.</summary>
    internal async Task<T> AskReadAsync<T>(ICanvasCommand command, CancellationToken cancellationToken)
    {
        var answer = await canvases.Ask<object>(command, submitTimeout, cancellationToken).ConfigureAwait(false);
        return answer switch
        {
            T read => read,
            CommandFailed failed => throw new TaskUnavailableException(failed.Id, failed.Reason),
            _ => throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} to {command.GetType().Name}"),
        };
    }
}

/// <summary>Options of a whole canvas, as <c>apply_async</c>'s are of a task.</summary>
public sealed record CanvasOptions
{
    public static readonly CanvasOptions None = new();

    /// <summary>
    /// How long the canvas (its coordinator's state and its members' results) is kept once it and every member it
    /// sent finished (Celery's <c>result_expires</c>); zero keeps it for ever; null leaves it to <c>jobs.tasks.result-expires</c>.
    /// </summary>
    public TimeSpan? ResultExpires { get; init; }
}

/// <summary>A group or chord result handle: the children's ids and states, readiness, and the ordered results.</summary>
public sealed class CanvasHandle
{
    private readonly CanvasClient _client;

    internal CanvasHandle(CanvasClient client, string id, Signature? root)
    {
        _client = client;
        Id = id;
        Root = root;
    }

    public string Id { get; }

    /// <summary>The tree with every id, when this handle started the canvas.</summary>
    public Signature? Root { get; }

    /// <summary>Where the canvas stands; its members from <paramref name="membersOffset"/> on, at most <paramref name="membersLimit"/> (all when null).</summary>
    public Task<CanvasResult> GetStateAsync(CancellationToken cancellationToken = default, int membersOffset = 0, int? membersLimit = null) =>
        _client.AskReadAsync<CanvasResult>(new GetCanvasResult(Id, membersOffset, membersLimit), cancellationToken);

    /// <summary>The tree with every id and the members' states, as its coordinator knows them now.</summary>
    public Task<CanvasTree> GetTreeAsync(CancellationToken cancellationToken = default) =>
        _client.AskReadAsync<CanvasTree>(new GetCanvasTree(Id), cancellationToken);

    /// <summary>
    /// Waits until the canvas is ready; a failure throws <see cref="TaskFailedException"/> when propagating. Throws
    /// <see cref="TimeoutException"/> after <paramref name="timeout"/> (without one, after <see cref="ClientWaits.DefaultTimeout"/>).
    /// </summary>
    public async Task<T?> GetAsync<T>(TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default)
    {
        var result = await WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        if (result.State == TaskState.Success)
            return result.Result is { } json ? System.Text.Json.JsonSerializer.Deserialize<T>(json, System.Text.Json.JsonSerializerOptions.Web) : default;
        if (propagate)
            throw new TaskFailedException(new TaskResult(Id, result.State, null, result.Error));
        return default;
    }

    /// <summary>
    /// Waits until the canvas is ready; its members are paged as for <see cref="GetStateAsync"/>. The wait is asked
    /// again now and then, so it survives the coordinator restarting or moving to another node.
    /// </summary>
    public async Task<CanvasResult> WaitAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default, int membersOffset = 0,
        int? membersLimit = null)
    {
        var waits = _client.Waits;
        var limit = timeout ?? waits.DefaultTimeout;
        try
        {
            return await waits.AskUntilAnsweredAsync<CanvasResult>(_client.Canvases, new AwaitCanvasResult(Id, membersOffset, membersLimit), limit,
                failureEnds: _ => false, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException e)
        {
            throw new TimeoutException($"canvas {Id} was not ready within {limit}", e);
        }
    }
}

/// <summary>A canvas that cannot be run as given (two nodes share an id): nothing was started.</summary>
public sealed class InvalidCanvasException(string message) : Exception(message);
