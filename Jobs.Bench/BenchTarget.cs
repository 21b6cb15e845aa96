using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Jobs.Bench;

/// <summary>
/// What a benchmark runs against, as separate OS processes on loopback: a standalone node (SQLite or Redis), or
/// a seed and two workers on Redis. Started, watched for memory, and stopped by PID.
/// </summary>
public sealed class BenchTarget : IAsyncDisposable
{
    private readonly List<Process> _nodes = new();
    private readonly Dictionary<int, string> _names = new();
    private readonly Dictionary<int, double> _peakRss = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("jobs-bench-").FullName;
    private readonly RedisProcess? _redis;
    private readonly CancellationTokenSource _sampling = new();

    private BenchTarget(string name, RedisProcess? redis)
    {
        Name = name;
        _redis = redis;
        HttpPort = FreePort();
        SeedPort = FreePort();
    }

    public string Name { get; }
    public int HttpPort { get; }
    public int SeedPort { get; }
    public string Seed => $"akka.tcp://jobs@127.0.0.1:{SeedPort}";
    public string Journal => _redis is null ? "sqlite" : "redis";
    public string? Redis => _redis?.ConnectionString;

    /// <summary>The target's own redis-server, or null on SQLite.</summary>
    public RedisProcess? RedisServer => _redis;

    /// <summary>The SQLite journal file of the standalone target.</summary>
    public string SqlitePath => Path.Combine(_dir, "jobs.db");

    /// <param name="nodeConfig">More HOCON for every node (e.g. to compare settings), or null.</param>
    /// <param name="appendFsync">Redis's fsync policy for the redis and cluster targets: everysec or always.</param>
    /// <param name="hocon">More HOCON for every node from the benchmark itself (W6's retention), before <paramref name="nodeConfig"/>.</param>
    /// <param name="logLevel">
    /// Every node's <c>--loglevel</c>: warning, as Celery's harness runs its worker (<c>--loglevel=warning</c>), so
    /// neither writes a line per task (the example task logs each call at INFO).
    /// </param>
    public static async Task<BenchTarget> StartAsync(string target, string? nodeConfig = null, string appendFsync = "everysec", string? hocon = null,
        string logLevel = "warning")
    {
        var redis = target is "redis" or "cluster" ? new RedisProcess(appendFsync) : null;
        var bench = new BenchTarget(target, redis);
        var config = Path.Combine(bench._dir, "bench.conf");
        await File.WriteAllTextAsync(config, LargeCanvases + (hocon is null ? "" : "\n" + hocon) + (nodeConfig is null ? "" : "\n" + await File.ReadAllTextAsync(nodeConfig)));
        string[] common = redis is null
            ? ["--data", bench.SqlitePath, "--config", config, "--loglevel", logLevel]
            : ["--journal", "redis", "--redis", redis.ConnectionString, "--config", config, "--loglevel", logLevel];
        if (target == "cluster")
        {
            bench.Start("seed", "Jobs.Seed", ["--port", bench.SeedPort.ToString(), "--seeds", bench.Seed, .. common]);
            bench.Start("w1", "Jobs.Node", ["--port", "0", "--seeds", bench.Seed, "--hostname", "w1", "--concurrency", "2", "--http", $"127.0.0.1:{bench.HttpPort}", .. common]);
            bench.Start("w2", "Jobs.Node", ["--port", "0", "--seeds", bench.Seed, "--hostname", "w2", "--concurrency", "2", .. common]);
        }
        else
        {
            bench.Start("node", "Jobs.Node", ["--standalone", "--port", bench.SeedPort.ToString(), "--http", $"127.0.0.1:{bench.HttpPort}", "--concurrency", "2", .. common]);
        }
        await bench.WaitUntilReadyAsync(target == "cluster" ? 3 : 1);
        _ = bench.SampleMemoryAsync();
        return bench;
    }

    /// <summary>
    /// W5 sends a chord of 100,000 members as one message (about 10 MB as a signature, more as Celery JSON), so every
    /// process of the benchmark, the client node included, accepts frames and request bodies that large.
    /// </summary>
    public const string LargeCanvases = """
        akka.remote.dot-netty.tcp.maximum-frame-size = 64MiB
        akka.remote.dot-netty.tcp.send-buffer-size = 64MiB
        akka.remote.dot-netty.tcp.receive-buffer-size = 64MiB
        jobs.http.max-body-size = 67108864
        """;

    private void Start(string name, string assembly, string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir };
        if (TailTrace.Enabled)
            info.Environment[Jobs.Actors.Hosting.TailTraceListener.Variable] = TailTrace.FileOf(name);
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly + ".dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[{name}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _nodes.Add(process);
        _names[process.Id] = name;
    }

    private async Task WaitUntilReadyAsync(int members)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}/") };
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var cluster = JsonNode.Parse(await http.GetStringAsync("api/cluster"))!["members"]!.AsArray();
                var types = await http.GetStringAsync("api/task/types");
                if (cluster.Count(m => m!["status"]!.GetValue<string>() == "Up") >= members && types.Contains("tasks.add"))
                    return;
            }
            catch (HttpRequestException)
            {
            }
            if (_nodes.Any(n => n.HasExited))
                throw new InvalidOperationException($"a {Name} node exited during start");
            await Task.Delay(200);
        }
        throw new TimeoutException($"the {Name} target did not come up");
    }

    /// <summary>VmRSS of every node process every 100 ms, keeping each one's peak since the last reset.</summary>
    private async Task SampleMemoryAsync()
    {
        while (!_sampling.IsCancellationRequested)
        {
            foreach (var node in _nodes.Where(n => !n.HasExited))
            {
                var rss = ReadRssMb(node.Id);
                lock (_peakRss)
                    _peakRss[node.Id] = Math.Max(_peakRss.GetValueOrDefault(node.Id), rss);
            }
            try
            {
                await Task.Delay(100, _sampling.Token);
            }
            catch (TaskCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The peak RSS of each node process since the last call, in MB, by node name.</summary>
    public IReadOnlyDictionary<string, double> TakePeakRss()
    {
        lock (_peakRss)
        {
            // A workload shorter than the sampling interval is still measured at its end.
            foreach (var node in _nodes.Where(n => !n.HasExited))
                _peakRss[node.Id] = Math.Max(_peakRss.GetValueOrDefault(node.Id), ReadRssMb(node.Id));
            var peaks = _peakRss.ToDictionary(p => _names[p.Key], p => Math.Round(p.Value, 1));
            _peakRss.Clear();
            return peaks;
        }
    }

    /// <summary>
    /// CPU seconds so far of every node, of Redis and of this process (the client: the HTTP client or the in-cluster
    /// client node), and Redis's command counts.
    /// </summary>
    public Usage ReadUsage()
    {
        var cpu = _nodes.ToDictionary(n => _names[n.Id], n => Usage.CpuSecondsOf(n.Id));
        if (_redis is not null)
            cpu["redis"] = Usage.CpuSecondsOf(_redis.Pid);
        cpu["client"] = Usage.OwnCpuSeconds();
        return new Usage(cpu, _redis?.CommandStats() ?? new Dictionary<string, RedisCommand>());
    }

    /// <summary>Each node's RSS now, in MB, by node name.</summary>
    public IReadOnlyDictionary<string, double> CurrentRss() =>
        _nodes.Where(n => !n.HasExited).ToDictionary(n => _names[n.Id], n => Math.Round(ReadRssMb(n.Id), 1));

    /// <summary>
    /// Each node's RSS once finished canvases and tasks have passivated (30 s idle by default): light traffic keeps
    /// running meanwhile, so the nodes allocate and their GC gets the chance to give memory back, as in real use.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, double>> SettledRssAsync(IBenchClient client, TimeSpan settle)
    {
        var until = DateTime.UtcNow + settle;
        while (DateTime.UtcNow < until)
        {
            await client.ResultAsync(await client.SendAsync("tasks.add", 1, 1));
            await Task.Delay(50);
        }
        return CurrentRss();
    }

    /// <summary>The journal's size on disk: the SQLite file and its WAL, or Redis's append-only file.</summary>
    public double JournalMb()
    {
        var dir = _redis?.DataDirectory ?? _dir;
        var pattern = _redis is null ? "jobs.db*" : "*";
        var bytes = Directory.EnumerateFiles(dir, pattern, SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        return Math.Round(bytes / 1024.0 / 1024.0, 1);
    }

    private static double ReadRssMb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _sampling.CancelAsync();
        foreach (var node in _nodes)
        {
            if (!node.HasExited)
                node.Kill(entireProcessTree: true);
            await node.WaitForExitAsync();
        }
        _redis?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
