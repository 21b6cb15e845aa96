using System.Diagnostics;
using System.Globalization;

namespace Jobs.Bench;

/// <summary>
/// What the processes of a run have used so far: CPU seconds per process (from /proc, user + system) and Redis's
/// per-command call counts and server time (INFO commandstats). Two readings give what one workload cost, which on
/// a noisy machine says more than a rate: CPU per task does not change when another process takes the core.
/// </summary>
public sealed record Usage(IReadOnlyDictionary<string, double> CpuSeconds, IReadOnlyDictionary<string, RedisCommand> Redis)
{
    private static readonly double TicksPerSecond = ClockTicks();

    /// <summary>What was used between <paramref name="before"/> and this reading (a process that restarted counts from zero).</summary>
    public Usage Since(Usage before) => new(
        CpuSeconds.ToDictionary(p => p.Key, p => Math.Max(0, p.Value - before.CpuSeconds.GetValueOrDefault(p.Key))),
        Redis.ToDictionary(p => p.Key, p => before.Redis.TryGetValue(p.Key, out var b) ? p.Value - b : p.Value)
            .Where(p => p.Value.Calls > 0).ToDictionary(p => p.Key, p => p.Value));

    /// <summary>CPU microseconds per task, by process name.</summary>
    public IReadOnlyDictionary<string, double> CpuMicrosecondsPer(long tasks) =>
        CpuSeconds.ToDictionary(p => p.Key, p => Math.Round(p.Value * 1e6 / Math.Max(tasks, 1), 1));

    /// <summary>User plus system CPU seconds of a process, or 0 once it has exited.</summary>
    public static double CpuSecondsOf(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ..."; comm may hold spaces, so count fields after the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm)".
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static double OwnCpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static double ClockTicks()
    {
        try
        {
            var info = new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false };
            using var getconf = Process.Start(info)!;
            var ticks = getconf.StandardOutput.ReadToEnd().Trim();
            getconf.WaitForExit();
            return double.Parse(ticks, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or FormatException)
        {
            return 100;
        }
    }
}

/// <summary>One line of INFO commandstats: how often a command ran and the server's microseconds in it.</summary>
public readonly record struct RedisCommand(long Calls, long Microseconds)
{
    public static RedisCommand operator -(RedisCommand a, RedisCommand b) => new(a.Calls - b.Calls, a.Microseconds - b.Microseconds);

    /// <summary>Parses <c>redis-cli INFO commandstats</c>: "cmdstat_evalsha:calls=12,usec=345,usec_per_call=28.75,…".</summary>
    public static IReadOnlyDictionary<string, RedisCommand> Parse(string info)
    {
        var commands = new Dictionary<string, RedisCommand>();
        foreach (var line in info.Split('\n', StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal))
                continue;
            var colon = line.IndexOf(':');
            var fields = line[(colon + 1)..].Split(',').Select(f => f.Split('=')).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);
            commands[line["cmdstat_".Length..colon]] = new RedisCommand(
                long.Parse(fields.GetValueOrDefault("calls", "0"), CultureInfo.InvariantCulture),
                long.Parse(fields.GetValueOrDefault("usec", "0"), CultureInfo.InvariantCulture));
        }
        return commands;
    }
}
