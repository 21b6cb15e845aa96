using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Jobs.Bench;

/// <summary>
/// W6's settings: <c>--soak DURATION</c> (10m, 300s, 1h), <c>--rate TASKS_PER_SECOND</c> (else 70% of W1's rate measured
/// first in the run), <c>--result-expires DURATION</c> (30s; with --quick 5s) and <c>--soak-interval DURATION</c> (the
/// readings' spacing: 30 s, or a twentieth of a shorter run, at least 1 s). The goal's times scale the same way: the
/// reference reading is at minute 2 (a fifth of a shorter run), and flatness is judged from minute 1 (a tenth).
/// </summary>
public sealed record SoakSettings(TimeSpan Duration, TimeSpan Interval, TimeSpan ResultExpires, double? Rate, int W1Size)
{
    public TimeSpan Reference => TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(2).Ticks, Duration.Ticks / 5));

    public TimeSpan Settle => Reference / 2;

    /// <summary>
    /// The nodes' retention for W6: results kept <see cref="ResultExpires"/>, and the tag streams (the monitor's read of
    /// task events) as long, trimmed every third of it (10 s at most), as a deployment with such short results runs.
    /// </summary>
    public string NodeHocon
    {
        get
        {
            var maintenance = TimeSpan.FromTicks(Math.Clamp(ResultExpires.Ticks / 3, TimeSpan.TicksPerSecond, 10 * TimeSpan.TicksPerSecond));
            return string.Create(CultureInfo.InvariantCulture, $"""
                jobs.tasks.result-expires = {ResultExpires.TotalMilliseconds:0}ms
                jobs.retention.tag-retention = {ResultExpires.TotalMilliseconds:0}ms
                jobs.retention.maintenance-interval = {maintenance.TotalMilliseconds:0}ms
                """);
        }
    }

    /// <summary>The settings given on the command line, or null without <c>--soak</c>.</summary>
    public static SoakSettings? Parse(string[] args, bool quick)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            if (i < 0)
                return null;
            return i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{name} needs a value");
        }
        if (Value("--soak") is not { } soak)
            return null;
        var duration = ParseDuration("--soak", soak);
        var interval = Value("--soak-interval") is { } given
            ? ParseDuration("--soak-interval", given)
            : TimeSpan.FromTicks(Math.Clamp(duration.Ticks / 20, TimeSpan.TicksPerSecond, 30 * TimeSpan.TicksPerSecond));
        var expires = Value("--result-expires") is { } e ? ParseDuration("--result-expires", e) : TimeSpan.FromSeconds(quick ? 5 : 30);
        double? rate = Value("--rate") is { } r
            ? double.TryParse(r, NumberStyles.Float, CultureInfo.InvariantCulture, out var perSecond) && perSecond > 0
                ? perSecond
                : throw new ArgumentException($"--rate '{r}': a positive number of tasks a second")
            : null;
        return new SoakSettings(duration, interval, expires, rate, quick ? 200 : 10_000);
    }

    /// <summary>"10m" → 10 minutes; "90s", "1h", "500ms"; a bare number is seconds.</summary>
    public static TimeSpan ParseDuration(string option, string text)
    {
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : text.EndsWith('m') ? (text[..^1], 60.0)
            : text.EndsWith('h') ? (text[..^1], 3600.0)
            : (text, 1.0);
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0
            ? TimeSpan.FromSeconds(value * unit)
            : throw new ArgumentException($"{option} '{text}': a positive duration such as 10m, 90s or 500ms");
    }
}

/// <summary>One W6 reading: seconds since the load started, tasks finished so far, and every series.</summary>
public sealed record SoakSample(double Seconds, long Completed, double PerSecond, long InFlight, IReadOnlyDictionary<string, double> Series);

/// <summary>One series' verdict: its value at the reference reading and its largest deviation from it after the settle time.</summary>
public sealed record SoakVerdict(string Series, bool Goal, double Reference, double MaxDeviation, bool Flat);

/// <summary>What W6 adds to its figure: its settings, the readings, a verdict per series and W1 with expiry on against off.</summary>
public sealed record SoakReport(SoakSettings Settings, double TargetRate, IReadOnlyList<SoakSample> Samples, IReadOnlyList<SoakVerdict> Verdicts,
    double? W1RateRatio = null, double? W1NodeCpuRatio = null, string? Load = null, long Skipped = 0, long Refused = 0)
{
    /// <summary>Flat: within ±10% of the reading at <see cref="SoakSettings.Reference"/> for every reading from <see cref="SoakSettings.Settle"/> on.</summary>
    public const double Tolerance = 0.10;

    public static IReadOnlyList<SoakVerdict> Judge(SoakSettings settings, IReadOnlyList<SoakSample> samples, IReadOnlyCollection<string> goals)
    {
        var reference = samples.FirstOrDefault(s => s.Seconds >= settings.Reference.TotalSeconds - 0.5) ?? samples[^1];
        var judged = samples.Where(s => s.Seconds >= settings.Settle.TotalSeconds - 0.5).ToArray();
        return reference.Series.Keys.Select(name =>
        {
            var at = reference.Series[name];
            // A series that is zero at the reference is flat only if it stays zero (a relative deviation has no meaning).
            var deviation = judged.Select(s => s.Series.GetValueOrDefault(name))
                .Select(v => at == 0 ? (v == 0 ? 0 : double.PositiveInfinity) : Math.Abs(v - at) / at).DefaultIfEmpty(0).Max();
            return new SoakVerdict(name, goals.Contains(name), at, Math.Round(deviation, 4), deviation <= Tolerance);
        }).ToArray();
    }

    public JsonObject ToJson() => new()
    {
        ["duration_s"] = Settings.Duration.TotalSeconds,
        ["interval_s"] = Settings.Interval.TotalSeconds,
        ["result_expires_s"] = Settings.ResultExpires.TotalSeconds,
        ["reference_s"] = Settings.Reference.TotalSeconds,
        ["settle_s"] = Settings.Settle.TotalSeconds,
        ["target_rate"] = Math.Round(TargetRate, 1),
        ["w1_expiry_on_off_rate_ratio"] = W1RateRatio,
        ["w1_expiry_on_off_node_cpu_ratio"] = W1NodeCpuRatio,
        ["load_average"] = Load,
        ["skipped_sends"] = Skipped,
        ["refused_sends"] = Refused,
        ["samples"] = new JsonArray(Samples.Select(s => (JsonNode)new JsonObject
        {
            ["t_s"] = Math.Round(s.Seconds, 1),
            ["completed"] = s.Completed,
            ["per_second"] = Math.Round(s.PerSecond, 1),
            ["in_flight"] = s.InFlight,
            ["series"] = new JsonObject(s.Series.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
        }).ToArray()),
        ["verdicts"] = new JsonObject(Verdicts.Select(v => KeyValuePair.Create(v.Series, (JsonNode?)new JsonObject
        {
            ["goal"] = v.Goal,
            ["reference"] = v.Reference,
            ["max_deviation"] = double.IsFinite(v.MaxDeviation) ? v.MaxDeviation : null,
            ["flat"] = v.Flat,
        }))),
    };

    /// <summary>The readings as a table (a column per series) and a verdict line per series.</summary>
    public void Print(string system, TextWriter output)
    {
        var names = Samples[0].Series.Keys.ToArray();
        output.WriteLine();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"W6 soak {system}: {Settings.Duration.TotalSeconds:0} s at {TargetRate:0.0} tasks/s, result-expires {Settings.ResultExpires.TotalSeconds:0} s, a reading every {Settings.Interval.TotalSeconds:0} s, {Skipped} sends skipped, {Refused} refused; load average {Load}"));
        output.WriteLine($"{"t s",7} {"done",9} {"per s",8} {"in flight",9} " + string.Join(" ", names.Select(n => $"{n,22}")));
        foreach (var s in Samples)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.Seconds,7:0.0} {s.Completed,9} {s.PerSecond,8:0.0} {s.InFlight,9} ")
                + string.Join(" ", names.Select(n => string.Create(CultureInfo.InvariantCulture, $"{s.Series.GetValueOrDefault(n),22:0.##}"))));
        foreach (var v in Verdicts)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"verdict {system} W6 {v.Series}{(v.Goal ? "" : " (informative)")}: {(v.Flat ? "flat" : "NOT flat")}, max deviation {(double.IsFinite(v.MaxDeviation) ? $"{v.MaxDeviation:P1}" : "from zero")} of {v.Reference:0.##} at {Settings.Reference.TotalSeconds:0} s (from {Settings.Settle.TotalSeconds:0} s on)"));
        if (W1RateRatio is { } ratio)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ratio {system} W1 expiry on / off: rate {ratio:0.000}, node CPU-µs per task {W1NodeCpuRatio:0.000} (goal: rate within 10%)"));
    }
}

/// <summary>
/// W6, the soak: W1 first for the rate (unless <c>--rate</c>), then a steady load at 70% of it for the soak's duration,
/// reading storage and memory every interval; then W1 with expiry off and on, alternated on the same node (per call:
/// off keeps results for ever, on keeps them 5 s, so a round pays for most of its own purges), once the soak's last
/// results have expired and been purged. Every result is checked.
/// </summary>
public static class SoakBenchmark
{
    private const double LoadShare = 0.7;

    public static async Task<IReadOnlyList<Figure>> RunAsync(BenchTarget bench, string system, SoakSettings settings)
    {
        var figures = new List<Figure>();
        // Every client here has a connection for each task in flight: a result read late, behind other results' long
        // polls (W1 sends 64 at a time but awaits them all), could have expired before it was read.
        await using var client = new HttpBenchClient(bench.HttpPort, SteadyLoad.MaxInFlight);
        double rate;
        if (settings.Rate is { } given)
        {
            rate = given;
        }
        else
        {
            var w1 = await MeasureAsync(bench, () => Workloads.RunAsync("W1:" + settings.W1Size, client, system, quick: false));
            figures.Add(w1 with { Workload = "W1" });
            rate = w1.PerSecond * LoadShare;
        }

        var probe = StorageProbe.For(bench);
        var goals = probe.GoalSeries.Concat(bench.CurrentRss().Keys.Select(RssSeries)).ToArray();
        var samples = new List<SoakSample>();
        var usage = bench.ReadUsage();
        bench.TakePeakRss();
        var load = new SteadyLoad(client, rate);
        var clock = Stopwatch.StartNew();
        var loading = load.RunAsync(settings.Duration);
        var lastCompleted = 0L;
        var lastSeconds = 0.0;
        for (var k = 0; k * settings.Interval <= settings.Duration; k++)
        {
            var due = k * settings.Interval - clock.Elapsed;
            if (due > TimeSpan.Zero)
                await Task.WhenAny(Task.Delay(due), loading);
            // A load that failed (a wrong result, a send that kept failing) ends the soak now, with its reason.
            if (loading.IsFaulted)
                await loading;
            var seconds = clock.Elapsed.TotalSeconds;
            var completed = load.Completed;
            var series = new Dictionary<string, double>(await probe.ReadAsync());
            foreach (var (node, mb) in bench.CurrentRss())
                series[RssSeries(node)] = mb;
            samples.Add(new SoakSample(seconds, completed, seconds > lastSeconds ? (completed - lastCompleted) / (seconds - lastSeconds) : 0, load.InFlight, series));
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{system} W6 {seconds:0} s: {completed} done, {load.InFlight} in flight, {load.Skipped} skipped, {load.Refused} refused, {string.Join(" ", series.Select(p => $"{p.Key}={p.Value:0.##}"))}"));
            (lastCompleted, lastSeconds) = (completed, seconds);
        }
        await loading;
        var soakSeconds = clock.Elapsed.TotalSeconds;
        var soak = new Figure(system, "W6", load.Completed, soakSeconds, load.Completed / soakSeconds).WithUsage(bench.ReadUsage().Since(usage));
        var rss = bench.TakePeakRss();
        soak = soak with { PeakRssMb = rss.Values.DefaultIfEmpty(0).Max(), RssByProcess = rss };

        // The soak's last results expire, and the sweeper purges them, before the A/B, so neither side pays for them.
        await Task.Delay(settings.ResultExpires + TimeSpan.FromSeconds(2));
        await SweptAsync(bench);
        // Rounds of half W1's size, off-on-on-off (each side as often first as second after the other), so what the node
        // carries from one round into the next weighs on both sides alike.
        var rounds = new List<Figure>();
        var roundSize = Math.Max(200, settings.W1Size / 2);
        var on = ("W1-expiry-on", OnRoundExpires(settings).TotalSeconds);
        var off = ("W1-expiry-off", 0.0);
        foreach (var (name, expires) in settings.W1Size >= 1_000 ? new[] { off, on, on, off } : [off, on])
        {
            await using var ab = new HttpBenchClient(bench.HttpPort, SteadyLoad.MaxInFlight) { ResultExpires = expires };
            var figure = await MeasureAsync(bench, () => Workloads.RunAsync("W1:" + roundSize, ab, system, quick: false));
            rounds.Add(figure with { Workload = name });
        }
        figures.AddRange(rounds);
        var (rateRatio, cpuRatio) = OnOverOff(rounds, bench);

        var report = new SoakReport(settings, rate, samples, SoakReport.Judge(settings, samples, goals), rateRatio, cpuRatio, LoadAverage(), load.Skipped, load.Refused);
        figures.Add(soak with { Soak = report });
        return figures;
    }

    /// <summary>Short enough that an on round's first results are purged while it runs, long enough to be read first.</summary>
    private static TimeSpan OnRoundExpires(SoakSettings settings) => settings.ResultExpires < TimeSpan.FromSeconds(5) ? settings.ResultExpires : TimeSpan.FromSeconds(5);

    private static string RssSeries(string node) => $"rss_{node}_mb";

    private static async Task<Figure> MeasureAsync(BenchTarget bench, Func<Task<Figure>> workload)
    {
        var usage = bench.ReadUsage();
        bench.TakePeakRss();
        var figure = (await workload()).WithUsage(bench.ReadUsage().Since(usage));
        var rss = bench.TakePeakRss();
        return figure with { PeakRssMb = rss.Values.DefaultIfEmpty(0).Max(), RssByProcess = rss };
    }

    /// <summary>Until the node's sweeper has nothing due (<c>jobs_retention_due</c> 0 in its /metrics), two minutes at most.</summary>
    private static async Task SweptAsync(BenchTarget bench)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{bench.HttpPort}/") };
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            var metrics = await http.GetStringAsync("metrics");
            if (metrics.Split('\n').Any(line => line == "jobs_retention_due 0"))
                return;
            await Task.Delay(500);
        }
        Console.Error.WriteLine("W6: the sweeper still had results due two minutes after the soak; the A/B runs beside it");
    }

    /// <summary>Medians of the rounds' rates and of the nodes' CPU per task, expiry on over off.</summary>
    private static (double? Rate, double? NodeCpu) OnOverOff(IReadOnlyList<Figure> rounds, BenchTarget bench)
    {
        double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }
        double NodeCpu(Figure f) => f.CpuUsPerTask!.Where(p => p.Key is not ("client" or "redis")).Sum(p => p.Value);
        var on = rounds.Where(f => f.Workload == "W1-expiry-on").ToArray();
        var off = rounds.Where(f => f.Workload == "W1-expiry-off").ToArray();
        return (Math.Round(Median(on.Select(f => f.PerSecond)) / Median(off.Select(f => f.PerSecond)), 3),
            Math.Round(Median(on.Select(NodeCpu)) / Median(off.Select(NodeCpu)), 3));
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}

/// <summary>
/// An open-loop load: tasks are sent at a fixed rate whatever the answers' pace (as clients do), each result awaited and
/// checked. At most <see cref="MaxInFlight"/> at once (each holds a connection); a send that would pass it is skipped and counted, so a target
/// that cannot keep up shows as a lower rate and skipped sends instead of an ever longer queue in the benchmark.
/// </summary>
public sealed class SteadyLoad(IBenchClient client, double rate)
{
    /// <summary>Below the node's <c>jobs.http.max-connections</c> and <c>max-concurrent-waits</c> (1,000 each), with room for the bench's other client.</summary>
    public const int MaxInFlight = 900;
    private long _completed;
    private long _refused;
    private long _inFlight;
    private long _skipped;

    public long Completed => Interlocked.Read(ref _completed);

    public long InFlight => Interlocked.Read(ref _inFlight);

    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>
    /// Sends the node refused (503: its journal or cluster did not answer in time) or whose connection it closed (seen on
    /// SQLite with the load average above 100); a client would send them again.
    /// </summary>
    public long Refused => Interlocked.Read(ref _refused);

    public async Task RunAsync(TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        var running = new List<Task>();
        long sent = 0;
        while (clock.Elapsed < duration)
        {
            var due = (long)(rate * clock.Elapsed.TotalSeconds) - sent;
            for (; due > 0; due--, sent++)
            {
                if (Interlocked.Read(ref _inFlight) >= MaxInFlight)
                {
                    Interlocked.Increment(ref _skipped);
                    continue;
                }
                Interlocked.Increment(ref _inFlight);
                running.Add(OneAsync(sent));
            }
            if (running.FirstOrDefault(t => t.IsFaulted) is { } failed)
                await failed;
            running.RemoveAll(t => t.IsCompletedSuccessfully);
            await Task.Delay(10);
        }
        await Task.WhenAll(running);
        if (Skipped > 0)
            Console.Error.WriteLine($"W6: {Skipped} sends skipped with {MaxInFlight} tasks in flight (the target did not keep up with {rate:0.0}/s)");
        if (Refused > 0)
            Console.Error.WriteLine($"W6: {Refused} sends refused by the node (503)");
    }

    private async Task OneAsync(long n)
    {
        try
        {
            var i = (int)(n % 1_000_000);
            string id;
            try
            {
                id = await client.SendAsync("tasks.add", i, i);
            }
            catch (HttpRequestException e) when (e.StatusCode is System.Net.HttpStatusCode.ServiceUnavailable or null)
            {
                if (Interlocked.Increment(ref _refused) <= 3)
                    Console.Error.WriteLine($"W6: a send refused: {e.Message}");
                return;
            }
            var result = (await client.ResultAsync(id)).GetInt64();
            if (result != 2L * i)
                throw new InvalidOperationException($"add({i}, {i}) gave {result}, not {2L * i}");
            Interlocked.Increment(ref _completed);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
