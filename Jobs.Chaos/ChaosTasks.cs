using System.Text;
using Jobs.Actors.Tasks;

namespace Jobs.Chaos;

/// <summary>
/// The tasks of the chaos load, loaded into every worker with <c>--tasks Jobs.Chaos.dll</c>. Each body notes that it
/// ran in the worker's run log before it does anything, so the audit can tell a task that never ran from one whose
/// outcome was lost, and count the bodies run more than once.
/// </summary>
public static class ChaosTasks
{
    /// <summary>Celery's default for autoretry is 3; the load also draws tasks that need more and so end in FAILURE.</summary>
    public const int FlakyMaxRetries = 3;

    /// <summary>Seconds; the load's overrunning tasks ask to sleep far longer.</summary>
    public const double SoftTimeLimit = 0.2;

    [JobsTask("chaos.add")]
    public static long Add(long x, long y, TaskContext ctx)
    {
        RunLog.Record(ctx);
        return x + y;
    }

    [JobsTask("chaos.xsum")]
    public static long Xsum(long[] numbers, TaskContext ctx)
    {
        RunLog.Record(ctx);
        return numbers.Sum();
    }

    /// <summary>Fails its first <paramref name="failures"/> attempts and retries itself, as Celery's autoretry_for does.</summary>
    [JobsTask("chaos.flaky", AutoRetryFor = [typeof(ChaosFlakyException)], MaxRetries = FlakyMaxRetries, DefaultRetryDelay = 0.2, RetryJitter = false)]
    public static string Flaky(int failures, TaskContext ctx)
    {
        RunLog.Record(ctx);
        if (ctx.Retries < failures)
            throw new ChaosFlakyException($"attempt {ctx.Attempt} of {ctx.TaskId} fails on purpose");
        return FlakyResult(failures);
    }

    public static string FlakyResult(int failures) => $"ok after {failures} failures";

    /// <summary>Sleeps past its soft time limit: the limit cancels it and the attempt fails with SoftTimeLimitExceeded.</summary>
    [JobsTask("chaos.overrun", SoftTimeLimit = SoftTimeLimit)]
    public static async Task<double> Overrun(double seconds, TaskContext ctx)
    {
        RunLog.Record(ctx);
        await Task.Delay(TimeSpan.FromSeconds(seconds), ctx.CancellationToken);
        return seconds;
    }
}

public sealed class ChaosFlakyException(string message) : Exception(message);

/// <summary>
/// One line per body run (task id, retries, worker, process id, time), appended to the file named by
/// <c>JOBS_CHAOS_RUNS</c> with one write each, so a line written before a <c>kill -9</c> is on disk after it.
/// </summary>
public static class RunLog
{
    public const string Variable = "JOBS_CHAOS_RUNS";

    private static readonly FileStream? File = Open();
    private static readonly int Pid = Environment.ProcessId;

    private static FileStream? Open()
    {
        var path = Environment.GetEnvironmentVariable(Variable);
        return string.IsNullOrEmpty(path) ? null : new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 1);
    }

    public static void Record(TaskContext ctx)
    {
        if (File is null)
            return;
        var line = Encoding.UTF8.GetBytes($"{ctx.TaskId}\t{ctx.Retries}\t{ctx.Hostname}\t{Pid}\t{DateTimeOffset.UtcNow:O}\n");
        lock (File)
            File.Write(line);
    }
}
