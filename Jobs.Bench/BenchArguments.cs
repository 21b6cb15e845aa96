namespace Jobs.Bench;

/// <summary>
/// Jobs.Bench's command line checked before anything starts: each mode (the workloads, <c>journal</c>, <c>beat</c>,
/// <c>index</c>) takes its own options, and a misspelt or unknown one is refused with its name rather than ignored, so a
/// run never measures something other than what was asked for.
/// </summary>
public static class BenchArguments
{
    public const string Usage = """
        Usage:
          Jobs.Bench [--workload W1,W2,W3,W4,W5,W1:100000] [--target standalone,redis,cluster] [--via ask,http]
                     [--peer celery,bullmq] [--quick] [--node-config FILE.conf] [--warm-up SECONDS]
                     [--appendfsync everysec,always] [--trace-tail MS] [--loglevel warning|info|debug|error]
          Jobs.Bench --soak 10m [--target redis,sqlite] [--rate TASKS_PER_SECOND] [--result-expires 30s] [--soak-interval 30s]
          Jobs.Bench journal [--quick] [--actors 1,10,100] [--events 50000] [--journal-config HOCON] [--no-floor]
          Jobs.Bench beat [--entries 10000] [--target redis] [--schedule daily|minute]
          Jobs.Bench index [--tasks 50000] [--actors [--dispatcher pinned|channel]]

        Options:
          --workload       W1 = 10,000 adds with 64 in flight, W2 = 500 sequential round trips, W3 = chord of 1,000,
                           W4 = chain of 100, W5 = chord of 100,000 and the memory after it; NAME:N sets the size
          --target         standalone (or sqlite): one node on SQLite; redis: one node on Redis; cluster: seed + 2 workers
          --via            ask: an in-cluster client node (Ask<TaskResult>); http: Flower's HTTP API
          --peer           runs the peers' harnesses from shared/peers after ours, the same workloads
          --quick          small sizes and no warm-up (CI's smoke run)
          --node-config    more HOCON for every node
          --warm-up        seconds of W1 load before the measured workloads (default 15; 0 with --quick)
          --appendfsync    Redis's fsync policy for the redis and cluster targets; each one given runs in turn
          --trace-tail     prints W2's round trips slower than MS beside the GC pauses, sweeps and thread injections
          --loglevel       every node's log level (default warning, as Celery's harness runs its worker)
          --soak           W6: steady load at 70% of W1's rate for this long, storage read every interval, over HTTP
          -h, --help       this text
        """;

    private static readonly string[] WorkloadValues =
        ["--workload", "--target", "--via", "--peer", "--node-config", "--warm-up", "--appendfsync", "--trace-tail", "--loglevel",
         "--soak", "--soak-interval", "--result-expires", "--rate"];

    private static readonly Dictionary<string, (string[] Values, string[] Flags)> Modes = new()
    {
        [""] = (WorkloadValues, ["--quick"]),
        ["journal"] = (["--actors", "--events", "--journal-config"], ["--quick", "--no-floor"]),
        ["beat"] = (["--target", "--entries", "--schedule"], []),
        ["index"] = (["--tasks", "--dispatcher"], ["--actors"]),
    };

    /// <summary>Whether the command line asks for the usage text.</summary>
    public static bool WantsHelp(IReadOnlyList<string> args) => args.Contains("--help") || args.Contains("-h");

    /// <summary>Why <paramref name="args"/> cannot run, or null when every option is one its mode reads, with a value where it needs one.</summary>
    public static string? Problem(IReadOnlyList<string> args)
    {
        var mode = args.Count > 0 && Modes.ContainsKey(args[0]) ? args[0] : "";
        var (values, flags) = Modes[mode];
        var seen = new HashSet<string>();
        for (var i = mode.Length == 0 ? 0 : 1; i < args.Count; i++)
        {
            var arg = args[i];
            if (!seen.Add(arg) && (values.Contains(arg) || flags.Contains(arg)))
                return $"{arg} is given twice";
            if (flags.Contains(arg))
                continue;
            if (values.Contains(arg))
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    return $"{arg} needs a value";
                i++;
                continue;
            }
            var known = string.Join(", ", values.Concat(flags).Order(StringComparer.Ordinal));
            var where = mode.Length == 0 ? "the workloads" : $"'{mode}'";
            return arg.StartsWith('-')
                ? $"unknown option {arg} for {where}; known: {known}"
                : $"unexpected argument '{arg}' for {where} (modes: journal, beat, index; options: {known})";
        }
        return null;
    }
}
