using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;

namespace Jobs.Actors.Control;

/// <summary>
/// The commands a node answers, by palette (see <see cref="CommandCatalog"/>): <c>cluster</c>, <c>sharding</c>,
/// <c>actor</c> and <c>log</c> (pbm's), <c>tasks</c> (Celery's inspect), <c>control</c> (Celery's control) and <c>beat</c>
/// (periodic tasks).
/// Each returns JSON, or a stream of JSON items for the <c>tail</c> commands; the CLI renders them for people.
/// </summary>
public sealed class CommandPalettes(ActorSystem system)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>What a node that has not joined a cluster yet can answer.</summary>
    private static readonly HashSet<string> BeforeJoining = ["cluster show", "cluster join", "cluster tail", "log peek", "log tail", "actor hierarchy"];

    private volatile JobsNode? _node;

    public void Attach(JobsNode node) => _node = node;

    private JobsNode Node => _node ?? throw new CommandException(
        "this node has not joined a cluster yet; `cluster join ADDR` tells it where (cluster show, log and actor commands work meanwhile)");

    private WorkerControl Workers => new(Node);

    /// <summary>The items of a streaming command, or null when the command does not stream.</summary>
    public Func<CancellationToken, IAsyncEnumerable<JsonNode>>? Stream(string palette, string command, IReadOnlyList<string> args) => (palette, command) switch
    {
        ("cluster", "tail") => ClusterTail,
        ("log", "tail") => LogTail,
        _ => null,
    };

    public async Task<JsonNode?> RunAsync(string palette, string command, IReadOnlyList<string> args)
    {
        if (!CommandCatalog.Palettes.Contains(palette))
            throw new CommandException($"unknown palette '{palette}'; palettes: {string.Join(", ", CommandCatalog.Palettes)}");
        if (CommandCatalog.Find(palette, command) is null)
            throw new CommandException($"unknown command '{palette} {command}'; {palette} commands: {string.Join(", ", CommandCatalog.CommandsOf(palette))}");
        if (!BeforeJoining.Contains($"{palette} {command}"))
            _ = Node;
        return (palette, command) switch
        {
            ("cluster", "show") => ClusterView.Describe(Cluster.Get(system)),
            ("cluster", "join") => Join(args),
            ("cluster", "leave") => Membership(args, (cluster, address) => cluster.Leave(address), "leaving"),
            ("cluster", "down") => Membership(args, (cluster, address) => cluster.Down(address), "downed"),
            ("cluster", "down-unreachable") => DownUnreachable(),
            ("tasks", "ping") => new JsonObject { [Node.Hostname] = new JsonObject { ["ok"] = "pong" } },
            ("tasks", "stats") => await StatsAsync(),
            ("tasks", "active") => ByWorker(await Workers.WorkersAsync(), s => Ids(s.Active)),
            ("tasks", "reserved") => ByWorker(await Workers.WorkersAsync(), s => Ids(s.Reserved)),
            ("tasks", "scheduled") => await ScheduledAsync(),
            ("tasks", "registered") => new JsonArray(Node.Catalog.Names.Select(n => (JsonNode?)n).ToArray()),
            ("tasks", "revoked") => await RevokedAsync(),
            ("tasks", "query") => await QueryAsync(Required(args, "tasks query needs one or more task ids")),
            ("control", "revoke") => await RevokeAsync(args),
            ("control", "rate-limit") => await RateLimitAsync(args),
            ("control", "time-limit") => await TimeLimitAsync(args),
            ("control", "pool") => await PoolAsync(args),
            ("control", "add-consumer") => await ConsumerAsync(args, queue => new AddConsumer(queue)),
            ("control", "cancel-consumer") => await ConsumerAsync(args, queue => new CancelConsumer(queue)),
            ("control", "shutdown") => await ShutdownAsync(args),
            ("beat", _) => await new BeatCommands(Node.Beat).RunAsync(command, args),
            ("sharding", "regions") => new JsonArray(ShardingView.Types.Select(t => (JsonNode?)t).ToArray()),
            ("sharding", "region-stats") => ShardingView.RegionStats(await ShardingStatsAsync(args)),
            ("sharding", "shard-stats") => ShardStats(await ShardingStatsAsync(args)),
            ("actor", "hierarchy") => new JsonArray(ActorHierarchy.Describe(system, Depth(args)).Select(l => (JsonNode?)l).ToArray()),
            ("log", "peek") => new JsonArray(LogRing.Shared.Latest(args.Count > 0 && int.TryParse(args[0], out var n) && n > 0 ? n : 20)
                .Select(l => (JsonNode?)l).ToArray()),
            _ => throw new CommandException($"{palette} {command} streams; run it with a client that speaks protocol version {CommandProtocol.FirstStreamingVersion}"),
        };
    }

    private static int Depth(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
            return 3;
        return int.TryParse(args[0], out var depth) && depth is > 0 and <= 20
            ? depth
            : throw new CommandException($"DEPTH must be a whole number from 1 to 20, not '{args[0]}'");
    }

    private async Task<ClusterShardingStats> ShardingStatsAsync(IReadOnlyList<string> args)
    {
        var type = Required(args, $"give a type: {string.Join(", ", ShardingView.Types)}")[0];
        if (!ShardingView.Types.Contains(type))
            throw new CommandException($"unknown type '{type}'; types: {string.Join(", ", ShardingView.Types)}");
        return await ShardingView.RegionOf(Node, type).Ask<ClusterShardingStats>(new GetClusterShardingStats(Timeout), Timeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
    }

    /// <summary>Every shard of one entity type: its entity count and the node that holds it.</summary>
    private static JsonObject ShardStats(ClusterShardingStats stats)
    {
        var shards = stats.Regions.SelectMany(r => r.Value.Stats.Select(s => (Shard: s.Key, Entities: s.Value, Node: r.Key.ToString())))
            .OrderBy(s => int.TryParse(s.Shard, out var n) ? n : int.MaxValue).ThenBy(s => s.Shard, StringComparer.Ordinal);
        var result = new JsonObject();
        foreach (var (shard, entities, node) in shards)
            result[shard] = new JsonObject { ["entities"] = entities, ["node"] = node };
        return result;
    }

    private static Address ParseAddress(string address)
    {
        try
        {
            return Address.Parse(address);
        }
        catch (UriFormatException)
        {
            throw new CommandException($"'{address}' is not an actor system address, e.g. akka.tcp://jobs@127.0.0.1:4053");
        }
    }

    /// <summary>pbm's <c>cluster join</c>: points a node that has not joined yet (its seeds are wrong or down) at a cluster.</summary>
    private JsonNode Join(IReadOnlyList<string> args)
    {
        var target = ParseAddress(Required(args, "give the address of a cluster member, e.g. akka.tcp://jobs@127.0.0.1:4053")[0]);
        var cluster = Cluster.Get(system);
        if (cluster.State.Members.Any(m => m.Address == cluster.SelfAddress))
            throw new CommandException($"this node ({cluster.SelfAddress}) is already a member of a cluster; `cluster leave` it first");
        cluster.Join(target);
        return new JsonObject { ["address"] = cluster.SelfAddress.ToString(), ["status"] = $"joining {target}" };
    }

    private JsonNode Membership(IReadOnlyList<string> args, Action<Cluster, Address> act, string done)
    {
        var address = Required(args, "give the member's address, e.g. akka.tcp://jobs@127.0.0.1:4053")[0];
        var parsed = ParseAddress(address);
        var cluster = Cluster.Get(system);
        if (cluster.State.Members.All(m => m.Address != parsed))
            throw new CommandException($"{address} is not a member of this cluster");
        act(cluster, parsed);
        return new JsonObject { ["address"] = address, ["status"] = done };
    }

    private JsonNode DownUnreachable()
    {
        var cluster = Cluster.Get(system);
        var result = new JsonObject();
        foreach (var member in cluster.State.Unreachable.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal))
        {
            cluster.Down(member.Address);
            result[member.Address.ToString()] = "downed";
        }
        return result;
    }

    private async IAsyncEnumerable<JsonNode> ClusterTail([EnumeratorCancellation] CancellationToken cancel)
    {
        var events = Channel.CreateUnbounded<JsonNode>();
        var relay = system.ActorOf(ClusterEventRelay.Props(events.Writer));
        try
        {
            await foreach (var e in events.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
                yield return e;
        }
        finally
        {
            system.Stop(relay);
        }
    }

    /// <summary>
    /// New log lines as they are written. The logger must never wait for a slow client, so lines beyond 10,000
    /// unread are skipped, and the stream says how many.
    /// </summary>
    private static async IAsyncEnumerable<JsonNode> LogTail([EnumeratorCancellation] CancellationToken cancel)
    {
        var lines = Channel.CreateBounded<string>(10_000);
        var skipped = 0;
        using var following = LogRing.Shared.Follow(line =>
        {
            if (!lines.Writer.TryWrite(line))
                Interlocked.Increment(ref skipped);
        });
        await foreach (var line in lines.Reader.ReadAllAsync(cancel).ConfigureAwait(false))
        {
            if (Interlocked.Exchange(ref skipped, 0) is > 0 and var missed)
                yield return $"… {missed} log line(s) skipped: the client read too slowly";
            yield return line;
        }
    }

    private static JsonObject ByWorker(IEnumerable<(WorkerStats Stats, ActorSelection Worker)> workers, Func<WorkerStats, JsonNode> describe)
    {
        var result = new JsonObject();
        foreach (var (stats, _) in workers)
            result[stats.Hostname] = describe(stats);
        return result;
    }

    private async Task<JsonNode> StatsAsync() => ByWorker(await Workers.WorkersAsync().ConfigureAwait(false), stats =>
        JsonSerializer.SerializeToNode(new
        {
            concurrency = stats.Concurrency, prefetch = stats.Prefetch, queues = stats.Queues,
            active = stats.Active.Count, reserved = stats.Reserved.Count,
            processed = stats.Succeeded + stats.Failed, succeeded = stats.Succeeded, failed = stats.Failed,
            retried = stats.Retried, uptime = Math.Round(stats.Uptime, 1),
        })!);

    /// <summary>
    /// Tasks waiting for a countdown, eta or retry are live entities that announce themselves to their node's
    /// registry, so every shard node is asked (no journal scan); a node that does not answer in time is left out.
    /// </summary>
    private async Task<JsonNode> ScheduledAsync()
    {
        var node = Node;
        var asks = Cluster.Get(system).State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(node.Settings.ShardRole))
            .Select(async m =>
            {
                try
                {
                    var tasks = await system.ActorSelection(new RootActorPath(m.Address) / "user" / ScheduledTaskRegistry.Name)
                        .Ask<ScheduledTasks>(GetScheduledTasks.Instance, TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                    return tasks.Tasks.Select(t => (Task: t, Node: m.Address.ToString()));
                }
                catch (AskTimeoutException)
                {
                    return [];
                }
            });
        var result = new JsonObject();
        foreach (var (task, at) in (await Task.WhenAll(asks).ConfigureAwait(false)).SelectMany(t => t).OrderBy(t => t.Task.DueAt))
        {
            result[task.TaskId] = new JsonObject
            {
                ["name"] = task.Name, ["queue"] = task.Queue, ["eta"] = task.DueAt.ToString("O"),
                ["retries"] = task.Retries, ["node"] = at,
            };
        }
        return result;
    }

    private async Task<JsonNode> RevokedAsync()
    {
        var result = new JsonObject();
        foreach (var entry in await RevokedTaskIndex.ReadAsync(system, Timeout).ConfigureAwait(false))
            result[entry.TaskId] = new JsonObject { ["reason"] = entry.Reason, ["revoked_at"] = entry.RevokedAt.ToString("O") };
        return result;
    }

    private async Task<JsonNode> QueryAsync(IReadOnlyList<string> ids)
    {
        var result = new JsonObject();
        foreach (var id in ids)
        {
            var info = await Node.Client.GetInfoAsync(id).ConfigureAwait(false);
            result[id] = new JsonObject { ["state"] = info.State.ToCelery(), ["name"] = info.Name, ["worker"] = info.Worker };
        }
        return result;
    }

    private async Task<JsonNode> RevokeAsync(IReadOnlyList<string> args)
    {
        var terminate = args.Contains("--terminate");
        var ids = Required(args.Where(a => a != "--terminate").ToArray(), "control revoke needs one or more task ids");
        var result = new JsonObject();
        foreach (var id in ids)
            result[id] = (await Node.Client.RevokeAsync(id, terminate).ConfigureAwait(false)).State.ToCelery();
        return result;
    }

    private async Task<JsonNode> RateLimitAsync(IReadOnlyList<string> args)
    {
        var (rest, worker) = WorkerOption(args);
        if (rest.Count != 2)
            throw new CommandException("usage: control rate-limit TASK RATE [--worker W], e.g. control rate-limit tasks.add 10/s");
        var rate = WorkerControl.ParseRate(rest[1]);
        Workers.RequireTask(rest[0]);
        return await ControlAsync(new SetRateLimit(rest[0], rate), worker).ConfigureAwait(false);
    }

    private async Task<JsonNode> TimeLimitAsync(IReadOnlyList<string> args)
    {
        var (rest, worker) = WorkerOption(args);
        if (rest.Count != 3)
            throw new CommandException("usage: control time-limit TASK SOFT HARD [--worker W] (seconds, 0 = none)");
        var limit = WorkerControl.TimeLimit(rest[0], WorkerControl.ParseSeconds(rest[1], "SOFT"), WorkerControl.ParseSeconds(rest[2], "HARD"));
        Workers.RequireTask(rest[0]);
        return await ControlAsync(limit, worker).ConfigureAwait(false);
    }

    private async Task<JsonNode> PoolAsync(IReadOnlyList<string> args)
    {
        var (rest, worker) = WorkerOption(args);
        if (rest.Count != 2 || rest[0] is not ("grow" or "shrink"))
            throw new CommandException("usage: control pool grow|shrink N [--worker W]");
        var n = WorkerControl.ParseCount(rest[1]);
        return await ControlAsync(new ResizePool(rest[0] == "grow" ? n : -n), worker).ConfigureAwait(false);
    }

    private async Task<JsonNode> ConsumerAsync(IReadOnlyList<string> args, Func<string, IWorkerControlCommand> command)
    {
        var (rest, worker) = WorkerOption(args);
        if (rest.Count != 1)
            throw new CommandException("usage: control add-consumer|cancel-consumer QUEUE [--worker W]");
        return await ControlAsync(command(WorkerControl.ParseQueue(rest[0])), worker).ConfigureAwait(false);
    }

    private async Task<JsonNode> ShutdownAsync(IReadOnlyList<string> args)
    {
        if (args.Count != 1)
            throw new CommandException("usage: control shutdown WORKER (the worker's name, as tasks stats shows it)");
        return await ControlAsync(ShutdownWorker.Instance, args[0]).ConfigureAwait(false);
    }

    /// <summary>The workers' replies; when any refused, the command fails with every worker's answer, so scripts see it.</summary>
    private async Task<JsonNode> ControlAsync(IWorkerControlCommand command, string? worker)
    {
        var replies = await Workers.SendAsync(command, worker).ConfigureAwait(false);
        if (replies.All(r => r.Value?["error"] is null))
            return replies;
        throw new CommandException(string.Join("; ", replies.Select(r =>
            r.Value?["error"] is { } error ? $"{r.Key} refused: {error.GetValue<string>()}" : $"{r.Key}: {r.Value!["ok"]!.GetValue<string>()}")));
    }

    /// <summary>Splits off <c>--worker W</c>; without it a control command goes to every worker.</summary>
    private static (IReadOnlyList<string> Words, string? Worker) WorkerOption(IReadOnlyList<string> args)
    {
        var at = args.ToList().IndexOf("--worker");
        if (at < 0)
            return (args, null);
        if (at + 1 >= args.Count)
            throw new CommandException("--worker needs a worker name, as tasks stats shows it");
        return (args.Where((_, i) => i != at && i != at + 1).ToArray(), args[at + 1]);
    }

    private static JsonArray Ids(IEnumerable<string> ids) => new(ids.Select(i => (JsonNode?)i).ToArray());

    private static IReadOnlyList<string> Required(IReadOnlyList<string> args, string message) =>
        args.Count > 0 ? args : throw new CommandException(message);
}
