using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Jobs.Bench;

/// <summary>
/// The peers' own harnesses from shared/peers (beside this repository), run in this same run on this same machine:
/// Celery 5.2.6 and BullMQ 6.7, each on a redis-server of its own with AOF everysec. Jobs.Bench's W1 keeps 64
/// submissions in flight, so when W1 is asked for, the peers run W1P (their W1 with 64 in flight) beside their W1.
/// </summary>
public static class Peers
{
    private static readonly Dictionary<string, string> Needs = new()
    {
        ["celery"] = "apt-get install -y redis-server python3-celery python3-redis",
        ["bullmq"] = "node >= 18 and npm; the first run does `npm ci`",
    };

    public static List<Figure> Run(string peer, string[] workloads, bool quick)
    {
        if (!Needs.TryGetValue(peer, out var needs))
            throw new ArgumentException($"unknown peer '{peer}'; known: {string.Join(", ", Needs.Keys)}");
        var script = Path.Combine(SharedPeers(), peer, "run.sh");
        if (!File.Exists(script))
            throw new FileNotFoundException($"the {peer} harness is not beside this repository", script);
        var asked = workloads.Select(w => Workloads.Parse(w).Name).Where(w => w is "W1" or "W2" or "W3" or "W4").Distinct().ToList();
        if (asked.Contains("W1"))
            asked.Insert(asked.IndexOf("W1") + 1, "W1P");
        if (asked.Count == 0)
            return [];
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(string.Join(",", asked));
        if (quick)
            info.ArgumentList.Add("--quick");
        using var harness = Process.Start(info)!;
        var lines = new List<string>();
        while (harness.StandardOutput.ReadLine() is { } line)
            lines.Add(line);
        harness.WaitForExit();
        if (harness.ExitCode != 0)
            throw new InvalidOperationException($"the {peer} harness failed with exit code {harness.ExitCode} (it needs: {needs})");
        return lines.Where(l => l.StartsWith('{')).Select(Parse).ToList();
    }

    private static Figure Parse(string line)
    {
        var json = JsonNode.Parse(line)!;
        var n = json["n"]!.GetValue<long>();
        // BullMQ's harness says the CPU seconds of its client, worker and Redis over the measured part.
        var cpu = new Dictionary<string, double>();
        foreach (var (field, name) in new[] { ("worker_cpu_s", "worker"), ("redis_cpu_s", "redis"), ("client_cpu_s", "client") })
        {
            if (json[field] is { } seconds)
                cpu[name] = Math.Round(seconds.GetValue<double>() * 1e6 / n, 1);
        }
        return new Figure(json["system"]!.GetValue<string>(), json["workload"]!.GetValue<string>(), n,
            json["seconds"]!.GetValue<double>(), json["per_second"]!.GetValue<double>(), json["p50_ms"]?.GetValue<double>(),
            json["p95_ms"]?.GetValue<double>(), json["p99_ms"]?.GetValue<double>(), json["worker_rss_peak_mb"]?.GetValue<double>(),
            CpuUsPerTask: cpu.Count == 0 ? null : cpu);
    }

    private static string SharedPeers()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "ActorJobs.sln")))
            dir = Path.GetDirectoryName(dir);
        return Path.GetFullPath(Path.Combine(dir ?? ".", "..", "shared", "peers"));
    }
}
