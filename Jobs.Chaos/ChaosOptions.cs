using System.Globalization;
using Jobs.Chaos.Faults;

namespace Jobs.Chaos;

/// <summary>The harness's command line.</summary>
public sealed record ChaosOptions
{
    public int Seed { get; init; } = Random.Shared.Next(1, 1_000_000);
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Tasks per second; null measures the cluster's capacity first and runs at <see cref="LoadFraction"/> of it.</summary>
    public double? Rate { get; init; }

    public double LoadFraction { get; init; } = 0.5;
    public int ProbeTasks { get; init; } = 1000;
    public IReadOnlyList<string> Faults { get; init; } = FaultPlan.All;
    public string Network { get; init; } = "auto";
    public string AppendFsync { get; init; } = "everysec";
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(180);
    public string? Directory { get; init; }
    public bool Keep { get; init; }
    public bool Quiet { get; init; }
    public bool Help { get; init; }

    /// <summary>When set, print this many faults the seed draws and exit, running nothing.</summary>
    public int? Plan { get; init; }

    public const string Usage = """
        Usage: dotnet Jobs.Chaos.dll [options]
          --seed N              the fault schedule and the load are drawn from it (default: random, printed)
          --duration SECONDS    how long the load and the faults last (default 60)
          --rate TASKS/S        the load's rate (default: half the capacity measured first)
          --load-fraction F     the share of the measured capacity to run at (default 0.5)
          --probe N             tasks the capacity is measured with (default 1000)
          --faults K[,K]        the kinds drawn from (default all): kill-worker, kill-coordinator-host, kill-api, freeze,
                                redis-restart, redis-pause, partition-node, partition-split, isolate-node
          --network MODE        auto (namespaces when allowed), netns or loopback (partitions become freezes)
          --appendfsync P       Redis's fsync policy: everysec (default, as in production) or always
          --drain SECONDS       how long accepted work may take to finish after the faults (default 180; 30 s more
                                at most once only tasks appendfsync everysec may have lost are unfinished)
          --dir PATH            where the run's logs go (default a new directory under /tmp)
          --keep                keep the run's directory even when the audit is clean
          --quiet               print the table and JSON only, not the timeline
          --plan N              print the first N faults the seed draws (with namespaces) and exit
        Exit code: 0 when the audit is clean, 1 when it found failures, 2 when the harness itself failed.
        """;

    public static ChaosOptions Parse(IReadOnlyList<string> args)
    {
        var options = new ChaosOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            double Number() => double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new ArgumentException($"{arg} needs a positive number");
            options = arg switch
            {
                "--seed" => options with { Seed = int.TryParse(Value(), out var s) ? s : throw new ArgumentException("--seed needs a whole number") },
                "--duration" => options with { Duration = TimeSpan.FromSeconds(Number()) },
                "--rate" => options with { Rate = Number() },
                "--load-fraction" => options with { LoadFraction = Number() },
                "--probe" => options with { ProbeTasks = (int)Number() },
                "--faults" => options with { Faults = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--network" => options with { Network = OneOf(arg, Value(), "auto", "netns", "loopback") },
                "--appendfsync" => options with { AppendFsync = OneOf(arg, Value(), "everysec", "always") },
                "--drain" => options with { Drain = TimeSpan.FromSeconds(Number()) },
                "--dir" => options with { Directory = Value() },
                "--keep" => options with { Keep = true },
                "--quiet" => options with { Quiet = true },
                "--plan" => options with { Plan = (int)Number() },
                "--help" or "-h" => options with { Help = true },
                _ => throw new ArgumentException($"unknown option '{arg}'"),
            };
        }
        return options;
    }

    private static string OneOf(string option, string value, params string[] allowed) =>
        allowed.Contains(value) ? value : throw new ArgumentException($"{option} must be one of {string.Join(", ", allowed)}, not '{value}'");
}
