using System.Diagnostics;
using Jobs.Actors.Canvas;
using Jobs.Actors.Client;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;

namespace Jobs.Bench;

/// <summary>
/// W1 (throughput: submit n × tasks.add(i, i), then await every result) and W2 (latency: sequential
/// submit→result round trips of tasks.add(1, 1)) on a standalone node in this process, through the in-cluster
/// client, with the journal on SQLite or on a redis-server of the benchmark's own.
/// </summary>
public static class StandaloneBenchmark
{
    public static async Task<IReadOnlyList<Figure>> RunAsync(string journal, bool quick, bool big = false)
    {
        using var redis = journal == "redis" ? new RedisProcess() : null;
        var data = Directory.CreateTempSubdirectory("jobs-bench-").FullName;
        string[] args = ["--standalone", "--port", "0", "--data", Path.Combine(data, "jobs.db"), "--concurrency", "2"];
        if (redis is not null)
            args = [.. args, "--journal", "redis", "--redis", redis.ConnectionString];
        // A flood of submissions waits its turn at the journal; the benchmark measures, it does not give up.
        var config = Akka.Configuration.ConfigurationFactory.ParseString("jobs.http.submit-timeout = 300s")
            .WithFallback(NodeOptions.Parse(args).ToConfig(["worker", "api"], 0));
        var node = await JobsNode.StartAsync(config, TaskRegistry.FromAssemblies([typeof(Jobs.Node.Tasks).Assembly]), TimeSpan.FromSeconds(30));
        var system = $"jobs-standalone-{journal}";
        var figures = new List<Figure>();
        try
        {
            await Throughput(node.Client, quick ? 200 : 1_000);
            var n = quick ? 500 : 10_000;
            var seconds = await Throughput(node.Client, n);
            figures.Add(new Figure(system, "W1", n, seconds, n / seconds));

            var trips = quick ? 50 : 500;
            var latencies = new List<double>(trips);
            var all = Stopwatch.StartNew();
            for (var i = 0; i < trips; i++)
            {
                var clock = Stopwatch.StartNew();
                var sent = await node.Client.SendTaskAsync("tasks.add", [1, 1]);
                if (await sent.GetAsync<int>(TimeSpan.FromSeconds(30)) != 2)
                    throw new InvalidOperationException("tasks.add(1, 1) was not 2");
                latencies.Add(clock.Elapsed.TotalMilliseconds);
            }
            latencies.Sort();
            figures.Add(new Figure(system, "W2", trips, all.Elapsed.TotalSeconds, trips / all.Elapsed.TotalSeconds,
                Percentile(latencies, 50), Percentile(latencies, 95), Percentile(latencies, 99)));

            var header = quick ? 100 : 1_000;
            var chord = Signature.Chord(Enumerable.Range(0, header).Select(i => Signature.Of("tasks.add", i, i)), Signature.Of("tasks.xsum"));
            var chordSeconds = await CanvasAsync(node, chord, (long)header * (header - 1));
            figures.Add(new Figure(system, "W3", header + 1, chordSeconds, (header + 1) / chordSeconds));

            var chain = Signature.Chain([Signature.Of("tasks.add", 0, 0), .. Enumerable.Range(0, 99).Select(_ => Signature.Of("tasks.add", 1))]);
            var chainSeconds = await CanvasAsync(node, chain, 99);
            figures.Add(new Figure(system, "W4", 100, chainSeconds, 100 / chainSeconds));

            if (big)
            {
                var size = 10_000;
                figures.Add(await BigAsync(node, system, "chord-10000",
                    Signature.Chord(Enumerable.Range(0, size).Select(i => Signature.Of("tasks.add", i, i)), Signature.Of("tasks.xsum")),
                    (long)size * (size - 1)));
                figures.Add(await BigAsync(node, system, "group-10000",
                    Signature.Group(Enumerable.Range(0, size).Select(i => Signature.Of("tasks.add", i, i))), null));
                figures.Add(await BigAsync(node, system, "chain-1000",
                    Signature.Chain([Signature.Of("tasks.add", 0, 0), .. Enumerable.Range(0, 999).Select(_ => Signature.Of("tasks.add", 1))]), 999));
            }
        }
        finally
        {
            await node.DisposeAsync();
            Directory.Delete(data, recursive: true);
        }
        return figures;
    }

    private static async Task<double> CanvasAsync(JobsNode node, Signature canvas, long expected)
    {
        var clock = Stopwatch.StartNew();
        var handle = await node.Canvas.ApplyAsync(canvas);
        var result = await handle.GetAsync<long>(TimeSpan.FromMinutes(10));
        if (result != expected)
            throw new InvalidOperationException($"the canvas gave {result}, not {expected}");
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>A big canvas, with this process's working set after it (the node runs in this process).</summary>
    private static async Task<Figure> BigAsync(JobsNode node, string system, string workload, Signature canvas, long? expected)
    {
        var clock = Stopwatch.StartNew();
        var handle = await node.Canvas.ApplyAsync(canvas);
        var result = await handle.WaitAsync(TimeSpan.FromMinutes(20));
        if (result.State != TaskState.Success || (expected is { } e && result.Result!.Value.GetInt64() != e))
            throw new InvalidOperationException($"{workload} ended {result.State}: {result.Result}");
        var seconds = clock.Elapsed.TotalSeconds;
        using var self = Process.GetCurrentProcess();
        Console.WriteLine($"{workload}: {seconds:0.0} s, working set {self.WorkingSet64 / 1048576} MB, peak {self.PeakWorkingSet64 / 1048576} MB");
        return new Figure(system, workload, result.Members.Count, seconds, result.Members.Count / seconds, PeakRssMb: self.PeakWorkingSet64 / 1048576.0);
    }

    private static async Task<double> Throughput(TaskClient client, int n)
    {
        var clock = Stopwatch.StartNew();
        var sent = await Task.WhenAll(Enumerable.Range(0, n).Select(i => client.SendTaskAsync("tasks.add", [i, i])));
        var results = await Task.WhenAll(sent.Select(s => s.GetAsync<int>(TimeSpan.FromMinutes(5))));
        var seconds = clock.Elapsed.TotalSeconds;
        for (var i = 0; i < n; i++)
        {
            if (results[i] != 2 * i)
                throw new InvalidOperationException($"tasks.add({i}, {i}) gave {results[i]}");
        }
        return seconds;
    }

    private static double Percentile(List<double> sorted, int percent) =>
        sorted[Math.Clamp((int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
}
