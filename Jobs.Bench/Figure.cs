namespace Jobs.Bench;

/// <summary>One measured figure; written as a JSON line with the field names every harness here uses.</summary>
/// <remarks>
/// W5 adds each node's RSS before the workload (<see cref="RssBefore"/>) and once it has settled after it
/// (<see cref="RssAfter"/>), and the journal's size on disk (<see cref="JournalMb"/>). <see cref="CpuUsPerTask"/> is
/// each process's CPU (user + system) over the workload divided by its task count; <see cref="RedisCallsPerTask"/> and
/// <see cref="RedisUsPerTask"/> are Redis's command calls and server time per task (INFO commandstats), with the
/// busiest commands' calls per task in <see cref="RedisCalls"/>. W6 (the soak) adds its readings and verdicts in
/// <see cref="Soak"/>.
/// </remarks>
public sealed record Figure(
    string System,
    string Workload,
    long N,
    double Seconds,
    double PerSecond,
    double? P50 = null,
    double? P95 = null,
    double? P99 = null,
    double? PeakRssMb = null,
    IReadOnlyDictionary<string, double>? RssByProcess = null,
    IReadOnlyDictionary<string, double>? RssBefore = null,
    IReadOnlyDictionary<string, double>? RssAfter = null,
    double? JournalMb = null,
    IReadOnlyDictionary<string, double>? CpuUsPerTask = null,
    double? RedisCallsPerTask = null,
    double? RedisUsPerTask = null,
    IReadOnlyDictionary<string, double>? RedisCalls = null,
    SoakReport? Soak = null)
{
    /// <summary>This figure with what the workload used, spread over its tasks.</summary>
    public Figure WithUsage(Usage used)
    {
        var calls = used.Redis.Sum(c => c.Value.Calls);
        return this with
        {
            CpuUsPerTask = used.CpuMicrosecondsPer(N),
            RedisCallsPerTask = used.Redis.Count == 0 ? null : Math.Round((double)calls / N, 2),
            RedisUsPerTask = used.Redis.Count == 0 ? null : Math.Round((double)used.Redis.Sum(c => c.Value.Microseconds) / N, 1),
            RedisCalls = used.Redis.Count == 0 ? null : used.Redis.OrderByDescending(c => c.Value.Calls).Take(6)
                .ToDictionary(c => c.Key, c => Math.Round((double)c.Value.Calls / N, 2)),
        };
    }
}
