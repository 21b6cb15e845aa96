using System.Globalization;
using System.Text.Json;
using Jobs.Bench;

// dotnet run -c Release --project Jobs.Bench -- journal|standalone|standalone-redis [--quick] [--big]
var quick = args.Contains("--quick");
var big = args.Contains("--big");
var command = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "journal";
IReadOnlyList<Figure> figures = command switch
{
    "journal" => await JournalBenchmark.RunAsync(quick),
    "standalone" => await StandaloneBenchmark.RunAsync("sqlite", quick, big),
    "standalone-redis" => await StandaloneBenchmark.RunAsync("redis", quick, big),
    _ => throw new ArgumentException($"unknown benchmark '{command}'; known: journal, standalone, standalone-redis"),
};

Console.WriteLine($"{"system",-26} {"workload",-22} {"n",9} {"seconds",9} {"per second",12} {"p50 ms",8} {"p95 ms",8} {"p99 ms",8}");
foreach (var f in figures)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{f.System,-26} {f.Workload,-22} {f.N,9} {f.Seconds,9:0.000} {f.PerSecond,12:0} {f.P50,8:0.00} {f.P95,8:0.00} {f.P99,8:0.00}"));
foreach (var f in figures)
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        system = f.System, workload = f.Workload, n = f.N, seconds = Math.Round(f.Seconds, 3), per_second = Math.Round(f.PerSecond, 1),
        p50_ms = f.P50, p95_ms = f.P95, p99_ms = f.P99, peak_rss_mb = f.PeakRssMb,
    }));
