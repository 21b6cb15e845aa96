using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Bench;

// dotnet run -c Release --project Jobs.Bench -- --help: every mode and option (BenchArguments.Usage).
if (BenchArguments.WantsHelp(args))
{
    Console.WriteLine(BenchArguments.Usage);
    return 0;
}
if (BenchArguments.Problem(args) is { } problem)
{
    Console.Error.WriteLine($"error: {problem}{Environment.NewLine}{Environment.NewLine}{BenchArguments.Usage}");
    return 2;
}
var quick = args.Contains("--quick");
string[] Option(string name, string defaults)
{
    var i = Array.IndexOf(args, name);
    return (i >= 0 && i + 1 < args.Length ? args[i + 1] : defaults).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

var warmUp = TimeSpan.FromSeconds(double.Parse(Option("--warm-up", quick ? "0" : "15")[0], CultureInfo.InvariantCulture));
var figures = new List<Figure>();
if (Array.IndexOf(args, "--trace-tail") >= 0)
    TailTrace.Configure(double.Parse(Option("--trace-tail", "5")[0], CultureInfo.InvariantCulture));
if (args.FirstOrDefault() == "beat")
{
    await BeatBenchmark.RunAsync(Option("--target", "redis")[0], int.Parse(Option("--entries", "10000")[0], CultureInfo.InvariantCulture),
        Option("--schedule", "daily")[0]);
    return 0;
}
if (args.FirstOrDefault() == "index")
{
    await IndexBenchmark.RunAsync(args);
    return 0;
}
if (args.FirstOrDefault() == "journal")
{
    figures.AddRange(await JournalBenchmark.RunAsync(args));
}
else
{
    // W6 runs alone unless other workloads are named, on Redis and SQLite over HTTP unless told otherwise.
    var soak = SoakSettings.Parse(args, quick);
    var workloads = Option("--workload", soak is null ? "W1,W2,W3,W4" : "");
    var fsyncPolicies = Option("--appendfsync", "everysec");
    // "sqlite" names the standalone target by its journal.
    foreach (var target in Option("--target", soak is null ? "standalone,redis,cluster" : "redis,standalone").Select(t => t == "sqlite" ? "standalone" : t))
    foreach (var appendFsync in target == "standalone" ? ["everysec"] : fsyncPolicies)
    {
        if (target is not ("standalone" or "redis" or "cluster"))
            throw new ArgumentException($"unknown target '{target}'; known: standalone (or sqlite), redis, cluster");
        await using var bench = await BenchTarget.StartAsync(target, Option("--node-config", "").FirstOrDefault(), appendFsync, soak?.NodeHocon,
            Option("--loglevel", "warning")[0]);
        foreach (var via in Option("--via", soak is null ? "ask,http" : "http"))
        {
            await using IBenchClient client = via switch
            {
                "ask" => await AskBenchClient.JoinAsync(bench),
                "http" => new HttpBenchClient(bench.HttpPort),
                _ => throw new ArgumentException($"unknown --via '{via}'; known: ask, http"),
            };
            // The default policy keeps the names every earlier run used; another one is named.
            var system = appendFsync == "everysec" ? $"actorjobs-{target}-{via}" : $"actorjobs-{target}-{via}-{appendFsync}";
            // W6 with --quick (or --warm-up 0) starts at once: its own W1 comes first.
            if (soak is null || warmUp > TimeSpan.Zero)
                await Workloads.WarmUpAsync(client, warmUp, quick);
            foreach (var workload in workloads)
            {
                var before = bench.CurrentRss();
                bench.TakePeakRss();
                var usage = bench.ReadUsage();
                var figure = await Workloads.RunAsync(workload, client, system, quick);
                figure = figure.WithUsage(bench.ReadUsage().Since(usage));
                var rss = bench.TakePeakRss();
                figure = figure with { PeakRssMb = rss.Values.DefaultIfEmpty(0).Max(), RssByProcess = rss };
                if (Workloads.Parse(workload).Name == "W5")
                {
                    // Memory must come back once the chord's coordinator and tasks have passivated (30 s idle).
                    var after = await bench.SettledRssAsync(client, TimeSpan.FromSeconds(quick ? 5 : 45));
                    figure = figure with { RssBefore = before, RssAfter = after, JournalMb = bench.JournalMb() };
                }
                figures.Add(figure);
                Console.Error.WriteLine($"{system} {workload}: {figure.Seconds:0.000} s");
                if (Workloads.Parse(workload).Name == "W2")
                    await TailTrace.ReportAsync(system);
            }
            if (soak is not null)
                figures.AddRange(via == "http"
                    ? await SoakBenchmark.RunAsync(bench, system, soak)
                    : throw new ArgumentException("W6 (--soak) runs over HTTP (--via http): its A/B sets result_expires per call"));
        }
    }
    foreach (var peer in Option("--peer", ""))
    {
        try
        {
            figures.AddRange(Peers.Run(peer, workloads, quick));
        }
        catch (Exception e) when (e is InvalidOperationException or FileNotFoundException or ArgumentException)
        {
            // Our own figures still print; the reason the peer is missing is said beside them.
            Console.Error.WriteLine($"The {peer} peer did not run: {e.Message}");
        }
    }
}

Console.WriteLine($"{"system",-30} {"workload",-22} {"n",7} {"seconds",9} {"per second",11} {"p50 ms",7} {"p95 ms",7} {"p99 ms",7}  {"CPU µs/task",-40} {"Redis calls/task",16}  peak RSS MB");
foreach (var f in figures)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{f.System,-30} {f.Workload,-22} {f.N,7} {f.Seconds,9:0.000} {f.PerSecond,11:0.0} {f.P50,7:0.00} {f.P95,7:0.00} {f.P99,7:0.00}  {Pairs(f.CpuUsPerTask),-40} {f.RedisCallsPerTask,16:0.00}  {Pairs(f.RssByProcess)}"));
// Jobs.Bench's W1 keeps 64 submissions in flight, as the peers' W1P does; their W1 submits one at a time.
foreach (var peer in figures.Where(f => !f.System.StartsWith("actorjobs", StringComparison.Ordinal)))
{
    var workload = peer.Workload == "W1P" ? "W1" : peer.Workload;
    foreach (var ours in figures.Where(f => f.Workload == workload && f.System.StartsWith("actorjobs", StringComparison.Ordinal)))
    {
        var ratio = workload == "W2"
            ? $"{peer.System}'s p99 / ours = {peer.P99 / ours.P99:0.0}"
            : $"{peer.System}'s time / ours = {peer.Seconds / ours.Seconds * ours.N / peer.N:0.0}";
        Console.WriteLine($"ratio {ours.System} {workload} vs {peer.System} {peer.Workload}: {ratio}");
    }
}
foreach (var f in figures)
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        system = f.System, workload = f.Workload, n = f.N, seconds = Math.Round(f.Seconds, 4), per_second = Math.Round(f.PerSecond, 1),
        p50_ms = f.P50, p95_ms = f.P95, p99_ms = f.P99, peak_rss_mb = f.PeakRssMb, rss_by_process = f.RssByProcess,
        rss_before_mb = f.RssBefore, rss_after_mb = f.RssAfter, journal_mb = f.JournalMb,
        cpu_us_per_task = f.CpuUsPerTask, redis_calls_per_task = f.RedisCallsPerTask, redis_us_per_task = f.RedisUsPerTask,
        redis_calls = f.RedisCalls, soak = f.Soak?.ToJson(),
    }, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
foreach (var f in figures.Where(f => f.RssAfter is not null))
    Console.WriteLine($"memory {f.System} {f.Workload}: RSS MB before {Pairs(f.RssBefore)}, peak {Pairs(f.RssByProcess)}, after {Pairs(f.RssAfter)}; journal {f.JournalMb} MB");

foreach (var f in figures.Where(f => f.Soak is not null))
    f.Soak!.Print(f.System, Console.Out);
return 0;

static string Pairs(IReadOnlyDictionary<string, double>? values) =>
    values is null ? "" : string.Join(" ", values.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}:{p.Value:0}")));
