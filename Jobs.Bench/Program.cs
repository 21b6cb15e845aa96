using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Bench;

// dotnet run -c Release --project Jobs.Bench -- [--workload W1,W2,W3,W4,W5,W1:100000] [--target standalone,redis,cluster]
//     [--via ask,http] [--peer celery] [--quick] [--node-config FILE.conf (more HOCON for every node)]
//     [--warm-up SECONDS (default 15; 0 with --quick)]
// dotnet run -c Release --project Jobs.Bench -- journal [--quick] [--actors 1,10,100] [--events 50000]
//     [--journal-config 'HOCON inside akka.persistence.journal.redis']
var quick = args.Contains("--quick");
string[] Option(string name, string defaults)
{
    var i = Array.IndexOf(args, name);
    return (i >= 0 && i + 1 < args.Length ? args[i + 1] : defaults).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

var warmUp = TimeSpan.FromSeconds(double.Parse(Option("--warm-up", quick ? "0" : "15")[0], CultureInfo.InvariantCulture));
var figures = new List<Figure>();
if (args.FirstOrDefault() == "journal")
{
    figures.AddRange(await JournalBenchmark.RunAsync(args));
}
else
{
    var workloads = Option("--workload", "W1,W2,W3,W4");
    foreach (var target in Option("--target", "standalone,redis,cluster"))
    {
        if (target is not ("standalone" or "redis" or "cluster"))
            throw new ArgumentException($"unknown target '{target}'; known: standalone, redis, cluster");
        await using var bench = await BenchTarget.StartAsync(target, Option("--node-config", "").FirstOrDefault());
        foreach (var via in Option("--via", "ask,http"))
        {
            await using IBenchClient client = via switch
            {
                "ask" => await AskBenchClient.JoinAsync(bench),
                "http" => new HttpBenchClient(bench.HttpPort),
                _ => throw new ArgumentException($"unknown --via '{via}'; known: ask, http"),
            };
            var system = $"actorjobs-{target}-{via}";
            await Workloads.WarmUpAsync(client, warmUp);
            foreach (var workload in workloads)
            {
                var before = bench.CurrentRss();
                bench.TakePeakRss();
                var figure = await Workloads.RunAsync(workload, client, system, quick);
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
            }
        }
    }
    if (Option("--peer", "").Contains("celery"))
    {
        try
        {
            figures.AddRange(CeleryPeer(workloads, quick));
        }
        catch (Exception e) when (e is InvalidOperationException or FileNotFoundException)
        {
            // Our own figures still print; the reason the peer is missing is said beside them.
            Console.Error.WriteLine($"The Celery peer did not run: {e.Message} (it needs: apt-get install -y python3-celery python3-redis)");
        }
    }
}

Console.WriteLine($"{"system",-30} {"workload",-22} {"n",7} {"seconds",9} {"per second",11} {"p50 ms",7} {"p95 ms",7} {"p99 ms",7}  peak RSS MB");
foreach (var f in figures)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{f.System,-30} {f.Workload,-22} {f.N,7} {f.Seconds,9:0.000} {f.PerSecond,11:0.0} {f.P50,7:0.00} {f.P95,7:0.00} {f.P99,7:0.00}  {(f.RssByProcess is null ? "" : string.Join(" ", f.RssByProcess.Select(p => $"{p.Key}:{p.Value:0}")))}"));
foreach (var celery in figures.Where(f => f.System.StartsWith("celery", StringComparison.Ordinal)))
{
    foreach (var ours in figures.Where(f => f.Workload == celery.Workload && f.System.StartsWith("actorjobs", StringComparison.Ordinal)))
    {
        var ratio = celery.Workload == "W2"
            ? $"Celery's p99 / ours = {celery.P99 / ours.P99:0.0}"
            : $"Celery's time / ours = {celery.Seconds / ours.Seconds:0.0}";
        Console.WriteLine($"ratio {ours.System} vs {celery.System} {celery.Workload}: {ratio}");
    }
}
foreach (var f in figures)
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        system = f.System, workload = f.Workload, n = f.N, seconds = Math.Round(f.Seconds, 4), per_second = Math.Round(f.PerSecond, 1),
        p50_ms = f.P50, p95_ms = f.P95, p99_ms = f.P99, peak_rss_mb = f.PeakRssMb, rss_by_process = f.RssByProcess,
        rss_before_mb = f.RssBefore, rss_after_mb = f.RssAfter, journal_mb = f.JournalMb,
    }, new JsonSerializerOptions { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull }));
foreach (var f in figures.Where(f => f.RssAfter is not null))
    Console.WriteLine($"memory {f.System} {f.Workload}: RSS MB before {Rss(f.RssBefore)}, peak {Rss(f.RssByProcess)}, after {Rss(f.RssAfter)}; journal {f.JournalMb} MB");

static string Rss(IReadOnlyDictionary<string, double>? rss) =>
    rss is null ? "" : string.Join(" ", rss.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}:{p.Value:0}")));

// Celery's harness from shared/peers, in this same run, on this same machine.
static List<Figure> CeleryPeer(string[] workloads, bool quick)
{
    var dir = AppContext.BaseDirectory;
    while (dir is not null && !File.Exists(Path.Combine(dir, "ActorJobs.sln")))
        dir = Path.GetDirectoryName(dir);
    var script = Path.GetFullPath(Path.Combine(dir ?? ".", "..", "shared", "peers", "celery", "run.sh"));
    if (!File.Exists(script))
        throw new FileNotFoundException("the Celery peer harness is not beside this repository", script);
    var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, UseShellExecute = false };
    info.ArgumentList.Add(script);
    info.ArgumentList.Add(string.Join(",", workloads.Where(w => w is "W1" or "W2" or "W3" or "W4")));
    if (quick)
        info.ArgumentList.Add("--quick");
    using var peer = Process.Start(info)!;
    var lines = new List<string>();
    while (peer.StandardOutput.ReadLine() is { } line)
        lines.Add(line);
    peer.WaitForExit();
    if (peer.ExitCode != 0)
        throw new InvalidOperationException($"the Celery harness failed with exit code {peer.ExitCode}");
    var peerFigures = new List<Figure>();
    foreach (var line in lines.Where(l => l.StartsWith('{')))
    {
        var json = JsonNode.Parse(line)!;
        peerFigures.Add(new Figure(json["system"]!.GetValue<string>(), json["workload"]!.GetValue<string>(), json["n"]!.GetValue<long>(),
            json["seconds"]!.GetValue<double>(), json["per_second"]!.GetValue<double>(), json["p50_ms"]?.GetValue<double>(),
            json["p95_ms"]?.GetValue<double>(), json["p99_ms"]?.GetValue<double>(), json["worker_rss_peak_mb"]?.GetValue<double>()));
    }
    return peerFigures;
}
