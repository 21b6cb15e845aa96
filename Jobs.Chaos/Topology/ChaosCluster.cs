using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Jobs.Chaos.Topology;

/// <summary>
/// The cluster under test: Redis, a seed, an api node and three workers, each a supervised OS process, placed by the
/// <see cref="NetworkLab"/>. Every node lists the seed and the api node as its seeds (two seeds, as README advises), so
/// a restarted seed finds the running cluster through the api node instead of forming one of its own.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    public static readonly string[] WorkerNames = ["w1", "w2", "w3"];

    private readonly NetworkLab _network;
    private readonly Timeline _timeline;
    private readonly string _dir;
    private readonly CancellationTokenSource _supervision = new();
    private readonly List<Task> _supervisors = new();

    private ChaosCluster(NetworkLab network, Timeline timeline, string dir, ChaosRedis redis, string token)
    {
        _network = network;
        _timeline = timeline;
        _dir = dir;
        Redis = redis;
        Token = token;
    }

    public ChaosRedis Redis { get; }
    public string Token { get; }
    public IReadOnlyList<ClusterNode> Nodes { get; private set; } = [];
    public ClusterNode Seed => Nodes.Single(n => n.Kind == "seed");
    public ClusterNode Api => Nodes.Single(n => n.Kind == "api");
    public IEnumerable<ClusterNode> Workers => Nodes.Where(n => n.Kind == "worker");
    public NetworkLab Network => _network;
    public int ApiHttpPort { get; private set; }

    /// <summary>The api node's HTTP facade, with the cluster's token on every request.</summary>
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The files each worker's bodies note their runs in (<see cref="RunLog"/>).</summary>
    public IEnumerable<string> RunLogs => WorkerNames.Select(RunLogOf);

    private string RunLogOf(string worker) => Path.Combine(_dir, $"runs-{worker}.log");

    /// <summary>Starts Redis and every node and waits until all are Up; on failure or <paramref name="abort"/> stops what it started.</summary>
    public static async Task<ChaosCluster> StartAsync(NetworkLab network, Timeline timeline, string dir, string appendFsync, int seed,
        Action<string> say, CancellationToken abort)
    {
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var redis = new ChaosRedis(Path.Combine(dir, "redis"), network.HostAddress, Ports.Next(), appendFsync);
        var cluster = new ChaosCluster(network, timeline, dir, redis, token);
        try
        {
            await redis.StartAsync();
            timeline.Note("redis", $"started on {redis.NodeConnection}, appendfsync {appendFsync}");
            cluster.CreateNodes(seed, await InsecureFlagAsync());
            cluster.Seed.Start();
            cluster.Api.Start();
            // Workers join one at a time, so which one is oldest (and hosts the shard coordinators) is known from the start.
            foreach (var worker in cluster.Workers)
            {
                worker.Start();
                var deadline = DateTime.UtcNow.AddMinutes(3);
                while (worker.UpSince is null)
                {
                    if (worker.Pid is null || DateTime.UtcNow > deadline)
                        throw new InvalidOperationException($"{worker.Name} did not come Up; see {worker.Name}.log in {dir}");
                    await Task.Delay(100, abort);
                }
                say($"{worker.Name} is Up");
            }
            await cluster.WaitUntilAsync(view => view.Healthy(cluster.Nodes), TimeSpan.FromMinutes(2), "every node Up", abort: abort);
            await cluster.WaitForTaskTypesAsync(TimeSpan.FromMinutes(1), abort);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        foreach (var node in cluster.Nodes)
            cluster._supervisors.Add(node.SuperviseAsync(cluster._supervision.Token));
        return cluster;
    }

    private void CreateNodes(int seed, bool insecureFlag)
    {
        var config = Path.Combine(_dir, "chaos.conf");
        // The audit compares every task with the monitor's index, so the index keeps every task.
        File.WriteAllText(config, "jobs.monitor.max-tasks = 0\n");
        var bin = AppContext.BaseDirectory;
        var seedPlace = _network.Place("seed");
        var apiPlace = _network.Place("api");
        var loopback = _network is LoopbackLab;
        var seedPort = loopback ? Ports.Next() : 4053;
        var apiPort = loopback ? Ports.Next() : 4053;
        ApiHttpPort = loopback ? Ports.Next() : 5555;
        var seeds = $"akka.tcp://jobs@{seedPlace.Address}:{seedPort},akka.tcp://jobs@{apiPlace.Address}:{apiPort}";
        string[] common = ["--seeds", seeds, "--journal", "redis", "--redis", Redis.NodeConnection, "--config", config, .. ExposureOptions(Token, insecureFlag)];
        var nodes = new List<ClusterNode>
        {
            Node("seed", "seed", "Jobs.Seed", seedPlace, seedPort, ["--cmd-port", "0", .. common], seed),
            Node("api", "api", "Jobs.Api", apiPlace, apiPort,
                ["--http", $"{apiPlace.Address}:{ApiHttpPort}", "--cmd-port", loopback ? Ports.Next().ToString() : "9110", .. common], seed + 1),
        };
        foreach (var (name, i) in WorkerNames.Select((n, i) => (n, i)))
        {
            var place = _network.Place(name);
            var port = loopback ? Ports.Next() : 4053;
            nodes.Add(Node(name, "worker", "Jobs.Node", place, port,
                ["--hostname", name, "--tasks", Path.Combine(bin, "Jobs.Chaos.dll"), "--concurrency", "2", "--cmd-port", "0", .. common],
                seed + 2 + i, new Dictionary<string, string> { [RunLog.Variable] = RunLogOf(name) }));
        }
        Nodes = nodes;
        Http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, ConnectTimeout = TimeSpan.FromSeconds(3) })
        {
            BaseAddress = new Uri($"http://{apiPlace.Address}:{ApiHttpPort}/"),
            Timeout = TimeSpan.FromSeconds(20),
        };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    private ClusterNode Node(string name, string kind, string assembly, (string Address, string? Namespace) place, int port, string[] args, int seed,
        IReadOnlyDictionary<string, string>? environment = null) =>
        new(name, kind, Path.Combine(AppContext.BaseDirectory, assembly + ".dll"), place.Address, port, place.Namespace,
            ["--host", place.Address, "--port", port.ToString(), .. args], environment ?? new Dictionary<string, string>(),
            Path.Combine(_dir, $"{name}.log"), _timeline, seed);

    /// <summary>
    /// What a node needs to serve beyond loopback, in one place: an access token for HTTP and the command host, and,
    /// where the nodes know it, <c>--insecure</c> for remoting without TLS.
    /// </summary>
    private static string[] ExposureOptions(string token, bool insecureFlag) =>
        insecureFlag ? ["--auth-token", token, "--insecure"] : ["--auth-token", token];

    /// <summary>Whether this build's nodes take <c>--insecure</c> (a node's <c>--help</c> lists its options).</summary>
    private static async Task<bool> InsecureFlagAsync()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Jobs.Node.dll"));
        info.ArgumentList.Add("--help");
        using var help = Process.Start(info)!;
        var errors = help.StandardError.ReadToEndAsync();
        var usage = await help.StandardOutput.ReadToEndAsync();
        await errors;
        await help.WaitForExitAsync();
        return usage.Contains("--insecure", StringComparison.Ordinal);
    }

    /// <summary>The cluster as the api node sees it, or null when it does not answer.</summary>
    public async Task<ClusterView?> ViewAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var response = await Http.GetAsync("api/cluster", timeout.Token);
            if (!response.IsSuccessStatusCode)
                return null;
            return ClusterView.Parse(JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token))!);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public async Task<bool> WaitUntilAsync(Func<ClusterView, bool> condition, TimeSpan timeout, string what, bool throwOnTimeout = true,
        CancellationToken abort = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (await ViewAsync() is { } view && condition(view))
                return true;
            await Task.Delay(250, abort);
        }
        if (throwOnTimeout)
            throw new TimeoutException($"the cluster did not reach '{what}' within {timeout}: {await ViewAsync()}");
        return false;
    }

    /// <summary>
    /// Redis up, every node's current process running, unfrozen and Up by its own account, and all five Up and reachable
    /// as the api node sees them, with nothing else.
    /// </summary>
    public async Task<bool> HealthyAsync() =>
        Redis.IsRunning && Nodes.All(n => n.Pid is not null && !n.Frozen && n.UpSince is not null) &&
        await ViewAsync() is { } view && view.Healthy(Nodes);

    private async Task WaitForTaskTypesAsync(TimeSpan timeout, CancellationToken abort)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await Http.GetStringAsync("api/task/types")).Contains("chaos.add", StringComparison.Ordinal))
                    return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(250, abort);
        }
        throw new TimeoutException("the api node did not learn the chaos tasks");
    }

    /// <summary>
    /// The worker Up the longest: the shard coordinators are cluster singletons on the oldest node with the worker role.
    /// Workers start one at a time, and a restarted one is the youngest.
    /// </summary>
    public ClusterNode? OldestWorker() => Workers.Where(w => w.Pid is not null && w.UpSince is not null).MinBy(w => w.UpSince);

    public async ValueTask DisposeAsync()
    {
        await _supervision.CancelAsync();
        await Task.WhenAll(_supervisors);
        foreach (var node in Nodes)
        {
            await node.StopAsync();
            node.CloseLog();
        }
        Redis.Dispose();
        // Null when start-up failed before the nodes were made.
        Http?.Dispose();
    }
}

/// <summary>The members of the cluster as one node sees them.</summary>
public sealed record ClusterView(IReadOnlyList<(string Address, string Status, bool Reachable)> Members)
{
    public static ClusterView Parse(JsonNode json) => new(json["members"]!.AsArray().Select(m =>
        (m!["address"]!.GetValue<string>(), m["status"]!.GetValue<string>(), m["reachable"]!.GetValue<bool>())).ToArray());

    public bool Healthy(IEnumerable<ClusterNode> nodes)
    {
        var expected = nodes.Select(n => n.AkkaAddress).ToHashSet();
        return Members.Count == expected.Count && Members.All(m => expected.Contains(m.Address) && m.Status == "Up" && m.Reachable);
    }

    public override string ToString() => string.Join(", ", Members.Select(m => $"{m.Address} {m.Status}{(m.Reachable ? "" : " unreachable")}"));
}

/// <summary>Loopback ports below the ephemeral range (an outgoing connection cannot take one before its node binds it).</summary>
public static class Ports
{
    private static int _next = 20000 + Random.Shared.Next(8000);

    public static int Next()
    {
        while (true)
        {
            var port = Interlocked.Increment(ref _next);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }
    }
}
