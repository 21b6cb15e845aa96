using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;

namespace Jobs.Actors.Control;

/// <summary>
/// The commands a node answers, by palette: <c>cluster</c> (pbm's), <c>tasks</c> (Celery's inspect) and
/// <c>control</c> (Celery's control). Each returns JSON; the CLI renders it as a table or prints it as is.
/// </summary>
public sealed class CommandPalettes(JobsNode node)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> Commands = new Dictionary<string, IReadOnlyList<string>>
    {
        ["cluster"] = ["show", "leave", "down"],
        ["tasks"] = ["ping", "stats", "active", "reserved", "registered", "query"],
        ["control"] = ["revoke"],
        ["sharding"] = ["regions", "region-stats"],
        ["log"] = ["peek"],
    };

    public async Task<JsonNode?> RunAsync(string palette, string command, IReadOnlyList<string> args) => (palette, command) switch
    {
        ("cluster", "show") => ClusterView.Describe(Cluster.Get(node.System)),
        ("cluster", "leave") => Membership(args, (cluster, address) => cluster.Leave(address), "leaving"),
        ("cluster", "down") => Membership(args, (cluster, address) => cluster.Down(address), "downed"),
        ("tasks", "ping") => new JsonObject { [node.Hostname] = new JsonObject { ["ok"] = "pong" } },
        ("tasks", "stats") => await StatsAsync(),
        ("tasks", "active") => ByWorker(await AllWorkerStatsAsync(), s => Ids(s.Active)),
        ("tasks", "reserved") => ByWorker(await AllWorkerStatsAsync(), s => Ids(s.Reserved)),
        ("tasks", "registered") => new JsonArray(node.Catalog.Names.Select(n => (JsonNode?)n).ToArray()),
        ("tasks", "query") => await QueryAsync(Required(args, "tasks query needs one or more task ids")),
        ("control", "revoke") => await RevokeAsync(args),
        ("sharding", "regions") => new JsonArray(ShardingView.Types.Select(t => (JsonNode?)t).ToArray()),
        ("sharding", "region-stats") => await RegionStatsAsync(Required(args, $"give a type: {string.Join(", ", ShardingView.Types)}")[0]),
        ("log", "peek") => new JsonArray(LogRing.Shared.Latest(args.Count > 0 && int.TryParse(args[0], out var n) && n > 0 ? n : 20)
            .Select(l => (JsonNode?)l).ToArray()),
        _ when !Commands.ContainsKey(palette) => throw new CommandException($"unknown palette '{palette}'; palettes: {string.Join(", ", Commands.Keys)}"),
        _ => throw new CommandException($"unknown command '{palette} {command}'; {palette} commands: {string.Join(", ", Commands[palette])}"),
    };

    /// <summary>Shards and entities per node for one entity type, as the cluster's regions report them.</summary>
    private async Task<JsonNode> RegionStatsAsync(string type)
    {
        if (!ShardingView.Types.Contains(type))
            throw new CommandException($"unknown type '{type}'; types: {string.Join(", ", ShardingView.Types)}");
        return await ShardingView.RegionStatsAsync(ShardingView.RegionOf(node, type), Timeout).ConfigureAwait(false);
    }

    private JsonNode Membership(IReadOnlyList<string> args, Action<Cluster, Address> act, string done)
    {
        var address = Required(args, "give the member's address, e.g. akka.tcp://jobs@127.0.0.1:4053")[0];
        Address parsed;
        try
        {
            parsed = Address.Parse(address);
        }
        catch (UriFormatException)
        {
            throw new CommandException($"'{address}' is not an actor system address, e.g. akka.tcp://jobs@127.0.0.1:4053");
        }
        var cluster = Cluster.Get(node.System);
        if (cluster.State.Members.All(m => m.Address != parsed))
            throw new CommandException($"{address} is not a member of this cluster");
        act(cluster, parsed);
        return new JsonObject { ["address"] = address, ["status"] = done };
    }

    /// <summary>
    /// Celery's inspect is cluster-wide: every member with the worker role is asked at its <c>/user/worker</c>;
    /// a worker that does not answer in time is left out rather than failing the whole command.
    /// </summary>
    private async Task<IReadOnlyList<WorkerStats>> AllWorkerStatsAsync()
    {
        var cluster = Cluster.Get(node.System);
        var asks = cluster.State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(node.Settings.ShardRole))
            .Select(async m =>
            {
                try
                {
                    return await node.System.ActorSelection(new RootActorPath(m.Address) / "user" / "worker")
                        .Ask<WorkerStats>(GetWorkerStats.Instance, TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                }
                catch (AskTimeoutException)
                {
                    return null;
                }
            });
        return (await Task.WhenAll(asks).ConfigureAwait(false)).OfType<WorkerStats>().OrderBy(s => s.Hostname, StringComparer.Ordinal).ToArray();
    }

    private static JsonObject ByWorker(IEnumerable<WorkerStats> stats, Func<WorkerStats, JsonNode> describe)
    {
        var result = new JsonObject();
        foreach (var worker in stats)
            result[worker.Hostname] = describe(worker);
        return result;
    }

    private async Task<JsonNode> StatsAsync() => ByWorker(await AllWorkerStatsAsync().ConfigureAwait(false), stats =>
        JsonSerializer.SerializeToNode(new
        {
            concurrency = stats.Concurrency, prefetch = stats.Prefetch, queues = stats.Queues,
            active = stats.Active.Count, reserved = stats.Reserved.Count,
            processed = stats.Succeeded + stats.Failed, succeeded = stats.Succeeded, failed = stats.Failed,
            retried = stats.Retried, uptime = Math.Round(stats.Uptime, 1),
        })!);

    private async Task<JsonNode> QueryAsync(IReadOnlyList<string> ids)
    {
        var result = new JsonObject();
        foreach (var id in ids)
        {
            var info = await node.Client.GetInfoAsync(id).ConfigureAwait(false);
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
            result[id] = (await node.Client.RevokeAsync(id, terminate).ConfigureAwait(false)).State.ToCelery();
        return result;
    }

    private static JsonArray Ids(IEnumerable<string> ids) => new(ids.Select(i => (JsonNode?)i).ToArray());

    private static IReadOnlyList<string> Required(IReadOnlyList<string> args, string message) =>
        args.Count > 0 ? args : throw new CommandException(message);
}
