using System.Diagnostics;
using Jobs.Actors.Canvas;

namespace Jobs.Bench;

/// <summary>
/// The standard workloads, defined as for Celery's peer harness: W1 throughput (n × add(i, i), then every
/// result), W2 latency (sequential add(1, 1) round trips), W3 chord (1,000 × add(i, i) → xsum = 999,000),
/// W4 chain (add(0, 0) then 99 × add(1) = 99), W5 memory (a chord of 100,000 × add(i, i) → xsum). A size may be
/// given after a colon (<c>W1:100000</c>). Every result is checked; a wrong one stops the run.
/// </summary>
public static class Workloads
{
    public static async Task<Figure> RunAsync(string workload, IBenchClient client, string system, bool quick)
    {
        var (name, size) = Parse(workload);
        var figure = await RunAsync(name, size, client, system, quick);
        return size is null ? figure : figure with { Workload = workload };
    }

    /// <summary>"W1:100000" → ("W1", 100000); "W1" → ("W1", null).</summary>
    public static (string Name, int? Size) Parse(string workload)
    {
        var colon = workload.IndexOf(':');
        if (colon < 0)
            return (workload, null);
        return int.TryParse(workload[(colon + 1)..], out var size) && size > 0
            ? (workload[..colon], size)
            : throw new ArgumentException($"'{workload}': the size after the colon must be a positive whole number");
    }

    private static async Task<Figure> RunAsync(string workload, int? size, IBenchClient client, string system, bool quick) => workload switch
    {
        "W1" => await ThroughputAsync(client, system, size ?? (quick ? 200 : 10_000)),
        "W2" => await LatencyAsync(client, system, size ?? (quick ? 30 : 500)),
        "W3" => await ChordAsync(client, system, size ?? (quick ? 50 : 1_000)),
        "W4" => await ChainAsync(client, system, size ?? (quick ? 10 : 100)),
        "W5" => (await ChordAsync(client, system, size ?? (quick ? 2_000 : 100_000))) with { Workload = "W5" },
        // Big canvases, run on request: their coordinators journal and snapshot thousands of member results.
        "chord10k" => (await ChordAsync(client, system, quick ? 500 : 10_000)) with { Workload = "chord10k" },
        "group10k" => await GroupAsync(client, system, quick ? 500 : 10_000),
        "chain1k" => (await ChainAsync(client, system, quick ? 50 : 1_000)) with { Workload = "chain1k" },
        _ => throw new ArgumentException($"unknown workload '{workload}'; known: W1, W2, W3, W4, W5, chord10k, group10k, chain1k"),
    };

    /// <summary>
    /// A run of every workload so connections, shard allocation and the JIT are paid before measuring. .NET compiles a
    /// method quickly first and again, optimized with the profile it gathered, once it has run a while (tiered
    /// compilation with dynamic PGO): a busy node kept compiling for its first ~30,000 tasks, ~25% of its CPU. So the
    /// warm-up submits tasks for <paramref name="duration"/> (at least 2,000), as a steady-state benchmark should.
    /// With <paramref name="quick"/> nothing is timed that matters, so the warm-up runs each workload once at its quick size.
    /// </summary>
    public static async Task WarmUpAsync(IBenchClient client, TimeSpan duration, bool quick)
    {
        var clock = Stopwatch.StartNew();
        do
            await ThroughputAsync(client, "warm-up", quick ? 200 : 2_000);
        while (clock.Elapsed < duration);
        await ChainAsync(client, "warm-up", quick ? 10 : 20);
        await ChordAsync(client, "warm-up", quick ? 50 : 200);
        await LatencyAsync(client, "warm-up", quick ? 30 : 50);
    }

    private static async Task<Figure> ThroughputAsync(IBenchClient client, string system, int n)
    {
        var clock = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(64);
        var results = await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            await gate.WaitAsync();
            string id;
            try
            {
                id = await client.SendAsync("tasks.add", i, i);
            }
            finally
            {
                gate.Release();
            }
            return (i, Result: await client.ResultAsync(id));
        }));
        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var (i, result) in results)
            Expect(result.GetInt64(), 2L * i, $"add({i}, {i})");
        return new Figure(system, "W1", n, seconds, n / seconds);
    }

    private static async Task<Figure> LatencyAsync(IBenchClient client, string system, int trips)
    {
        var latencies = new List<double>(trips);
        var all = Stopwatch.StartNew();
        for (var i = 0; i < trips; i++)
        {
            var startedAt = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            Expect((await client.ResultAsync(await client.SendAsync("tasks.add", 1, 1))).GetInt64(), 2, "add(1, 1)");
            latencies.Add(clock.Elapsed.TotalMilliseconds);
            TailTrace.Trip(system, startedAt, clock.Elapsed.TotalMilliseconds);
        }
        latencies.Sort();
        return new Figure(system, "W2", trips, all.Elapsed.TotalSeconds, trips / all.Elapsed.TotalSeconds,
            Percentile(latencies, 50), Percentile(latencies, 95), Percentile(latencies, 99));
    }

    private static async Task<Figure> ChordAsync(IBenchClient client, string system, int header)
    {
        var clock = Stopwatch.StartNew();
        var result = await client.CanvasAsync(Signature.Chord(Enumerable.Range(0, header).Select(i => Signature.Of("tasks.add", i, i)), Signature.Of("tasks.xsum")));
        var seconds = clock.Elapsed.TotalSeconds;
        Expect(result.GetInt64(), (long)header * (header - 1), "the chord");
        return new Figure(system, "W3", header + 1, seconds, (header + 1) / seconds);
    }

    private static async Task<Figure> GroupAsync(IBenchClient client, string system, int size)
    {
        var clock = Stopwatch.StartNew();
        var result = await client.CanvasAsync(Signature.Group(Enumerable.Range(0, size).Select(i => Signature.Of("tasks.add", i, i))));
        var seconds = clock.Elapsed.TotalSeconds;
        var i = 0;
        foreach (var item in result.EnumerateArray())
            Expect(item.GetInt64(), 2L * i, $"group member {i++}");
        Expect(i, size, "the group's size");
        return new Figure(system, "group10k", size, seconds, size / seconds);
    }

    private static async Task<Figure> ChainAsync(IBenchClient client, string system, int length)
    {
        var clock = Stopwatch.StartNew();
        var result = await client.CanvasAsync(Signature.Chain([Signature.Of("tasks.add", 0, 0), .. Enumerable.Range(1, length - 1).Select(_ => Signature.Of("tasks.add", 1))]));
        var seconds = clock.Elapsed.TotalSeconds;
        Expect(result.GetInt64(), length - 1, "the chain");
        return new Figure(system, "W4", length, seconds, length / seconds);
    }

    private static void Expect(long actual, long expected, string what)
    {
        if (actual != expected)
            throw new InvalidOperationException($"{what} gave {actual}, not {expected}");
    }

    private static double Percentile(List<double> sorted, int percent) =>
        Math.Round(sorted[Math.Clamp((int)Math.Ceiling(percent / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)], 3);
}
