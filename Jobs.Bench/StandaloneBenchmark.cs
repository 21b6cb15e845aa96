using System.Diagnostics;
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
    public static async Task<IReadOnlyList<Figure>> RunAsync(string journal, bool quick)
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
        }
        finally
        {
            await node.DisposeAsync();
            Directory.Delete(data, recursive: true);
        }
        return figures;
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
