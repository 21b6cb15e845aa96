using System.Diagnostics;
using System.Text.Json;
using Jobs.Actors.Tasks;

namespace Jobs.Node;

/// <summary>The example tasks every node registers; their names derive from this class: <c>tasks.*</c>.</summary>
public static class Tasks
{
    [JobsTask]
    public static int Add(int x, int y, TaskContext ctx)
    {
        ctx.Logger.Info($"Adding {x} + {y}");
        return x + y;
    }

    [JobsTask]
    public static int Mul(int x, int y) => x * y;

    [JobsTask]
    public static long Xsum(long[] numbers) => numbers.Sum();

    /// <summary>The same sum under Celery's name for it in <c>map</c> examples.</summary>
    [JobsTask]
    public static long Tsum(long[] numbers) => numbers.Sum();

    [JobsTask]
    public static JsonElement Echo(JsonElement value) => value;

    [JobsTask]
    public static async Task<double> Sleep(double seconds, CancellationToken cancel)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds), cancel);
        return seconds;
    }

    [JobsTask]
    public static int Fail(string message) => throw new InvalidOperationException(message);

    /// <summary>Fails its first <paramref name="failures"/> attempts, then succeeds: retries made visible.</summary>
    [JobsTask(AutoRetryFor = [typeof(FlakyTaskException)], MaxRetries = 10, DefaultRetryDelay = 0.2, RetryJitter = false)]
    public static string Flaky(int failures, string key, TaskContext ctx)
    {
        if (ctx.Retries < failures)
            throw new FlakyTaskException($"{key}: attempt {ctx.Attempt} of {failures + 1} fails on purpose");
        return $"ok after {failures} failures";
    }

    [JobsTask("sum-of-two-numbers")]
    public static int SumOfTwoNumbers(int a, int b) => a + b;

    /// <summary>Keeps a core busy for <paramref name="seconds"/>: CPU-bound work for load and heartbeat tests.</summary>
    [JobsTask]
    public static long Spin(double seconds, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        long iterations = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < 100_000; i++)
                iterations++;
            cancel.ThrowIfCancellationRequested();
        }
        return iterations;
    }
}

public sealed class FlakyTaskException(string message) : Exception(message);
