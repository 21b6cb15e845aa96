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
        var figures = await RunBenchAsync("--quick");
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

    /// <summary>
    /// W6's quick path on Redis and SQLite: a 3 s soak read every second, with 3 s results. Nothing is judged flat here
    /// (too short); the spec checks that every reading of every series came back, sane, and that the verdicts and the
    /// W1 expiry on/off rounds are reported.
    /// </summary>
    [Fact]
    public async Task The_quick_soak_reads_storage_every_interval_and_judges_every_series()
    {
        var figures = await RunBenchAsync("--quick", "--soak", "3s", "--soak-interval", "1s", "--result-expires", "3s", "--target", "redis,sqlite");

        foreach (var (target, series) in new[]
        {
            ("redis", new[] { "redis_used_memory_mb", "redis_keys", "redis_aof_mb", "rss_node_mb" }),
            ("standalone", new[] { "sqlite_db_mb", "sqlite_db_and_wal_mb", "journal_rows", "tag_rows", "rss_node_mb" }),
        })
        {
            var system = $"actorjobs-{target}-http";
            var soak = Assert.Single(figures, f => f["system"]!.GetValue<string>() == system && f["workload"]!.GetValue<string>() == "W6");
            Assert.True(soak["n"]!.GetValue<long>() > 0, $"{system}: the soak finished no task");
            var report = soak["soak"]!;
            Assert.True(report["target_rate"]!.GetValue<double>() > 0);
            var samples = report["samples"]!.AsArray();
            Assert.True(samples.Count >= 3, $"{system}: {samples.Count} readings in a 3 s soak read every second");
            // Every reading has every series, and what was written is there: memory, keys or rows, and an AOF or a file.
            foreach (var sample in samples)
            foreach (var name in series)
                Assert.True(sample!["series"]![name]!.GetValue<double>() > 0, $"{system} at {sample["t_s"]} s: {name} = {sample["series"]![name]}");
            Assert.True(samples[^1]!["completed"]!.GetValue<long>() > 0);
            var verdicts = report["verdicts"]!.AsObject();
            Assert.All(series, name => Assert.NotNull(verdicts[name]!["flat"]));
            Assert.True(verdicts["rss_node_mb"]!["goal"]!.GetValue<bool>());
            Assert.True(report["w1_expiry_on_off_rate_ratio"]!.GetValue<double>() > 0);
            foreach (var workload in new[] { "W1", "W1-expiry-off", "W1-expiry-on" })
                Assert.True(Assert.Single(figures, f => f["system"]!.GetValue<string>() == system && f["workload"]!.GetValue<string>() == workload)["per_second"]!.GetValue<double>() > 0);
        }
    }

    /// <summary>Runs Jobs.Bench with <paramref name="args"/> and answers its figures (the JSON lines of its output).</summary>
    private static async Task<JsonNode[]> RunBenchAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Jobs.Bench.dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var bench = Process.Start(info)!;
        var stderr = bench.StandardError.ReadToEndAsync();
        var stdout = await bench.StandardOutput.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await bench.WaitForExitAsync(cancel.Token);
        Assert.True(bench.ExitCode == 0, $"Jobs.Bench {string.Join(' ', args)} exited {bench.ExitCode}:{Environment.NewLine}{await stderr}");
        return stdout.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!).ToArray();
    }
}
