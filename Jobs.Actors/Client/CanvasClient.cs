using Akka.Actor;
using Jobs.Actors.Canvas;

namespace Jobs.Actors.Client;

/// <summary>Starts canvases (chain, group, chord, …) on their coordinators and awaits their results by message.</summary>
public sealed class CanvasClient(IActorRef canvases, TimeSpan submitTimeout)
{
    /// <summary>Starts <paramref name="root"/>; answers once its coordinator has journaled it, with every id assigned.</summary>
    public async Task<CanvasHandle> ApplyAsync(Signature root, CancellationToken cancellationToken = default)
    {
        var id = root.Id ?? Guid.NewGuid().ToString();
        // Ids are given here, so the coordinator need not send a 100,000-member tree back to say which it chose.
        var tree = (root with { Id = id }).WithIds(() => Guid.NewGuid().ToString());
        var accepted = await canvases.Ask<CanvasAccepted>(new StartCanvas(id, tree), submitTimeout, cancellationToken).ConfigureAwait(false);
        return new CanvasHandle(this, accepted.CanvasId, accepted.Root ?? tree);
    }

    public CanvasHandle Handle(string canvasId) => new(this, canvasId, null);

    internal Task<CanvasResult> AskAsync(ICanvasCommand command, TimeSpan? timeout, CancellationToken cancellationToken) =>
        canvases.Ask<CanvasResult>(command, timeout, cancellationToken);

    internal Task<CanvasTree> AskTreeAsync(string canvasId, CancellationToken cancellationToken) =>
        canvases.Ask<CanvasTree>(new GetCanvasTree(canvasId), submitTimeout, cancellationToken);

    internal TimeSpan SubmitTimeout => submitTimeout;
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
        _client.AskAsync(new GetCanvasResult(Id, membersOffset, membersLimit), _client.SubmitTimeout, cancellationToken);

    /// <summary>The tree with every id and the members' states, as its coordinator knows them now.</summary>
    public Task<CanvasTree> GetTreeAsync(CancellationToken cancellationToken = default) => _client.AskTreeAsync(Id, cancellationToken);

    /// <summary>Waits until the canvas is ready; a failure throws <see cref="TaskFailedException"/> when propagating.</summary>
    public async Task<T?> GetAsync<T>(TimeSpan? timeout = null, bool propagate = true, CancellationToken cancellationToken = default)
    {
        var result = await WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        if (result.State == Tasks.TaskState.Success)
            return result.Result is { } json ? System.Text.Json.JsonSerializer.Deserialize<T>(json, System.Text.Json.JsonSerializerOptions.Web) : default;
        if (propagate)
            throw new TaskFailedException(new Tasks.TaskResult(Id, result.State, null, result.Error));
        return default;
    }

    /// <summary>Waits until the canvas is ready; its members are paged as for <see cref="GetStateAsync"/>.</summary>
    public async Task<CanvasResult> WaitAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default, int membersOffset = 0,
        int? membersLimit = null)
    {
        try
        {
            return await _client.AskAsync(new AwaitCanvasResult(Id, membersOffset, membersLimit), timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException e)
        {
            throw new TimeoutException($"canvas {Id} was not ready within {timeout}", e);
        }
    }
}
