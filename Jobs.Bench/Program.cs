using System.Globalization;
using System.Text.Json;
using Jobs.Bench;

// dotnet run -c Release --project Jobs.Bench -- journal [--quick]
var quick = args.Contains("--quick");
var command = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "journal";
IReadOnlyList<Figure> figures = command switch
{
    "journal" => await JournalBenchmark.RunAsync(quick),
    _ => throw new ArgumentException($"unknown benchmark '{command}'; known: journal"),
};

Console.WriteLine($"{"system",-22} {"workload",-24} {"n",9} {"seconds",9} {"per second",12}");
foreach (var f in figures)
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{f.System,-22} {f.Workload,-24} {f.N,9} {f.Seconds,9:0.000} {f.PerSecond,12:0}"));
foreach (var f in figures)
    Console.WriteLine(JsonSerializer.Serialize(new
    {
        system = f.System, workload = f.Workload, n = f.N, seconds = Math.Round(f.Seconds, 3), per_second = Math.Round(f.PerSecond, 1),
    }));
