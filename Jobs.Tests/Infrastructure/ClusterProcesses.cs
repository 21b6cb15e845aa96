using System.Text.Json.Nodes;

namespace Jobs.Tests.Infrastructure;

/// <summary>
/// A real multi-process cluster on 127.0.0.1: a seed, worker nodes and an api node, each its own OS process,
/// sharing one Redis journal. Nodes are started, killed (SIGKILL) and stopped (SIGTERM) by PID.
/// </summary>
public sealed class ClusterProcesses : IAsyncDisposable
{
    private readonly string _redis;
    private readonly IReadOnlyList<string> _everyNode;
    private readonly List<NodeProcess> _all = new();

    /// <param name="redisConnection">The shared journal.</param>
    /// <param name="everyNode">Options given to every node, e.g. a --config file.</param>
    public ClusterProcesses(string redisConnection, params string[] everyNode)
    {
        _redis = redisConnection;
        _everyNode = everyNode;
        WorkDir = Path.Combine(Path.GetTempPath(), "jobs-cluster-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(WorkDir);
        SeedPorts = [FreePort.Next(), FreePort.Next()];
        ApiHttpPort = FreePort.Next();
        ApiCmdPort = FreePort.Next();
    }

    public string WorkDir { get; }
    /// <summary>Two seed addresses; every node lists both (Lighthouse's convention), whether one or two run.</summary>
    public int[] SeedPorts { get; }
    public int SeedCount { get; private set; } = 1;
    public int ApiHttpPort { get; }
    public int ApiCmdPort { get; }
    public NodeProcess?[] Seeds { get; } = new NodeProcess?[2];
    public NodeProcess? Api { get; private set; }

    private string SeedList => string.Join(",", SeedPorts.Take(SeedCount).Select(p => $"akka.tcp://jobs@127.0.0.1:{p}"));

    private string[] Common => ["--seeds", SeedList, .. Storage];

    private string[] Storage => ["--journal", "redis", "--redis", _redis, .. _everyNode];

    public string SeedAddress(int index = 0) => $"akka.tcp://jobs@127.0.0.1:{SeedPorts[index]}";

    public NodeProcess StartSeed(int index = 0)
    {
        Seeds[index] = Track(NodeProcess.Start("Jobs.Seed", ["--port", SeedPorts[index].ToString(), .. Common], Dir($"seed{index}"), null));
        return Seeds[index]!;
    }

    /// <summary>A worker node on a free port; <paramref name="extra"/> adds options such as --queues.</summary>
    public NodeProcess StartWorker(string name, params string[] extra)
    {
        var port = FreePort.Next();
        WorkerAddresses[name] = $"akka.tcp://jobs@127.0.0.1:{port}";
        return Track(NodeProcess.Start("Jobs.Node",
            ["--port", port.ToString(), "--hostname", name, "--tasks", typeof(ClusterProcesses).Assembly.Location, .. Common, .. extra],
            Dir(name), null));
    }

    /// <summary>Each worker's actor system address, by worker name.</summary>
    public Dictionary<string, string> WorkerAddresses { get; } = new();

    /// <summary>A seed-kind node (no shards, no HTTP) given <paramref name="seeds"/> instead of the cluster's, e.g. an address nobody listens on.</summary>
    public NodeProcess StartSeedWithSeeds(string name, string seeds, params string[] extra) =>
        Track(NodeProcess.Start("Jobs.Seed", ["--seeds", seeds, .. Storage, .. extra], Dir(name), null));

    public async Task<NodeProcess> StartApiAsync()
    {
        Api = Track(NodeProcess.Start("Jobs.Api",
            ["--port", FreePort.Next().ToString(), "--http", $"127.0.0.1:{ApiHttpPort}", "--cmd-port", ApiCmdPort.ToString(), .. Common], Dir("api"), $"127.0.0.1:{ApiHttpPort}"));
        await Api.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        return Api;
    }

    /// <summary>Waits until the api node sees exactly <paramref name="count"/> members Up and all reachable.</summary>
    public async Task<JsonArray> WaitForMembersUpAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (status, body) = await Api!.GetAsync("api/cluster");
            last = body;
            if (status == 200 && body!["members"] is JsonArray members &&
                members.Count == count &&
                members.All(m => m!["status"]!.GetValue<string>() == "Up" && m["reachable"]!.GetValue<bool>()))
                return members;
            await Task.Delay(200);
        }
        throw new TimeoutException($"the cluster did not have {count} members Up within {timeout}: {last}");
    }

    /// <summary>Waits until the api node knows the workers' tasks, so submissions by name are accepted.</summary>
    public async Task WaitForTaskTypesAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var (_, body) = await Api!.GetAsync("api/task/types");
            if (body?["task-types"] is JsonArray types && types.Any(t => t!.GetValue<string>() == "tasks.add"))
                return;
            await Task.Delay(200);
        }
        throw new TimeoutException($"the api node did not learn the workers' tasks within {timeout}");
    }

    /// <summary>Seed, <paramref name="workers"/> workers named w1, w2, … and the api node, all Up.</summary>
    public Task StartAllAsync(int workers, params string[] workerArgs) => StartAllAsync(1, workers, workerArgs);

    public async Task StartAllAsync(int seeds, int workers, params string[] workerArgs)
    {
        SeedCount = seeds;
        for (var i = 0; i < seeds; i++)
            StartSeed(i);
        for (var i = 1; i <= workers; i++)
            Workers[$"w{i}"] = StartWorker($"w{i}", workerArgs);
        await StartApiAsync();
        await WaitForMembersUpAsync(workers + seeds + 1, TimeSpan.FromSeconds(90));
        await WaitForTaskTypesAsync(TimeSpan.FromSeconds(30));
    }

    public Dictionary<string, NodeProcess> Workers { get; } = new();

    /// <summary>Sends a task through the api node's Flower API and returns its id.</summary>
    public async Task<string> SendAsync(string name, object body)
    {
        var (status, json) = await Api!.PostAsync($"api/task/async-apply/{name}", body);
        if (status != 200)
            throw new InvalidOperationException($"async-apply {name} answered {status}: {json}");
        return json!["task-id"]!.GetValue<string>();
    }

    /// <summary>Waits for a task to be ready, asking again while its shard moves between nodes.</summary>
    public async Task<JsonNode> ResultAsync(string taskId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (status, json) = await Api!.GetAsync($"api/task/result/{taskId}?timeout=5");
            last = json;
            if (status == 200 && json!["state"]!.GetValue<string>() is "SUCCESS" or "FAILURE" or "REVOKED")
                return json;
        }
        throw new TimeoutException($"task {taskId} not ready within {timeout}: {last}");
    }

    /// <summary>The worker that ran a finished task.</summary>
    public async Task<string> WorkerOfAsync(string taskId)
    {
        var (_, info) = await Api!.GetAsync($"api/task/info/{taskId}");
        return info!["worker"]!.GetValue<string>();
    }

    private NodeProcess Track(NodeProcess process)
    {
        _all.Add(process);
        return process;
    }

    private string Dir(string name) => Path.Combine(WorkDir, name);

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _all)
            await process.DisposeAsync();
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
