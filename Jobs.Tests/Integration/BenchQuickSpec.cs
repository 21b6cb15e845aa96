using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// `Jobs.Bench --quick` as CI runs it: every workload on every target and both submission paths, with every
/// result checked by the benchmark itself. No timing is asserted; only that it ran and reported each figure, with
/// the CPU each process spent per task and Redis's calls per task.
/// </summary>
public sealed class BenchQuickSpec
{
    [Fact]
    public async Task The_quick_benchmark_runs_every_workload_on_every_target_with_correct_results()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Jobs.Bench.dll"));
        info.ArgumentList.Add("--quick");
        using var bench = Process.Start(info)!;
        var stderr = bench.StandardError.ReadToEndAsync();
        var stdout = await bench.StandardOutput.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await bench.WaitForExitAsync(cancel.Token);
        Assert.True(bench.ExitCode == 0, $"Jobs.Bench --quick exited {bench.ExitCode}:{Environment.NewLine}{await stderr}");

        var figures = stdout.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).ToArray();
        foreach (var target in new[] { "standalone", "redis", "cluster" })
        foreach (var via in new[] { "ask", "http" })
        foreach (var workload in new[] { "W1", "W2", "W3", "W4" })
        {
            var figure = Assert.Single(figures, f => f["system"]!.GetValue<string>() == $"actorjobs-{target}-{via}" && f["workload"]!.GetValue<string>() == workload);
            Assert.True(figure["per_second"]!.GetValue<double>() > 0);
            Assert.True(figure["peak_rss_mb"]!.GetValue<double>() > 0);
            // CPU per task of every process and, on Redis, the commands per task: the figures that hold on a noisy machine.
            var cpu = figure["cpu_us_per_task"]!.AsObject();
            Assert.Contains("client", cpu.Select(p => p.Key));
            Assert.Contains(target == "cluster" ? "w1" : "node", cpu.Select(p => p.Key));
            if (target != "standalone")
                Assert.True(figure["redis_calls_per_task"]!.GetValue<double>() > 0, $"{target}-{via} {workload}: no Redis calls counted");
        }
        Assert.All(figures.Where(f => f["workload"]!.GetValue<string>() == "W2"), f => Assert.NotNull(f["p99_ms"]));
    }
}
