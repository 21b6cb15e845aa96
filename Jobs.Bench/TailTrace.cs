using System.Globalization;
using Jobs.Actors.Hosting;

namespace Jobs.Bench;

/// <summary>
/// <c>--trace-tail MS</c>: every process of the run (nodes and this client) writes a <see cref="TailTraceListener"/>
/// file, W2 notes each round trip's wall-clock start and length, and after each W2 the trips slower than MS are
/// printed with what ran in any process while they did: GC pauses (with generation), the monitor's journal sweeps and
/// index writes, thread-pool threads injected. A summary says how many slow trips each kind overlapped.
/// </summary>
public static class TailTrace
{
    private static readonly List<(DateTime Start, double Ms)> Trips = new();
    private static string _dir = "";
    private static double _threshold;
    private static TailTraceListener? _self;

    public static bool Enabled { get; private set; }

    public static void Configure(double thresholdMs)
    {
        Enabled = true;
        _threshold = thresholdMs;
        _dir = Directory.CreateTempSubdirectory("jobs-tail-").FullName;
        _self = TailTraceListener.Start(FileOf("client"));
        Console.Error.WriteLine($"tail traces in {_dir}");
    }

    public static string FileOf(string process) => Path.Combine(_dir, process + ".trace");

    public static void Trip(string system, DateTime start, double ms)
    {
        if (Enabled && system != "warm-up")
            Trips.Add((start, ms));
    }

    private sealed record Span(string Process, string Kind, double From, double To, string Details);

    /// <summary>Prints the slow trips of the W2 just run, with the spans that overlapped them, then forgets the trips.</summary>
    public static async Task ReportAsync(string system)
    {
        if (!Enabled || Trips.Count == 0)
            return;
        // The listeners flush every 500 ms.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var spans = Directory.GetFiles(_dir, "*.trace").SelectMany(file => Spans(Path.GetFileNameWithoutExtension(file), ReadShared(file))).ToList();
        var from = Epoch(Trips[0].Start);
        var to = Epoch(Trips[^1].Start) + Trips[^1].Ms;
        var window = spans.Where(s => s.To >= from && s.From <= to).ToList();
        var pauses = window.Where(s => s.Kind == "gc-pause").ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"tail {system} W2: {Trips.Count} trips, {Trips.Count(t => t.Ms > _threshold)} over {_threshold} ms; in the run: {pauses.Count} GC pauses " +
            $"(total {pauses.Sum(p => p.To - p.From):0.0} ms, max {pauses.Select(p => p.To - p.From).DefaultIfEmpty(0).Max():0.0} ms), " +
            $"{window.Count(s => s.Kind == "sweep")} sweeps, {window.Count(s => s.Kind == "thread-injected")} thread-pool injections"));
        var overlapped = new Dictionary<string, int>();
        var alone = 0;
        foreach (var (start, ms) in Trips.Where(t => t.Ms > _threshold))
        {
            var a = Epoch(start);
            var b = a + ms;
            var during = window.Where(s => s.To >= a - 0.5 && s.From <= b).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"tail  {start:HH:mm:ss.fff} {ms,7:0.00} ms: {(during.Count == 0 ? "nothing traced" : string.Join("; ", during.Select(s => $"{s.Process} {s.Kind} {s.To - s.From:0.0} ms {s.Details}".TrimEnd())))}"));
            foreach (var kind in during.Select(s => s.Kind).Distinct())
                overlapped[kind] = overlapped.GetValueOrDefault(kind) + 1;
            if (during.Count == 0)
                alone++;
        }
        Console.WriteLine($"tail {system} W2 slow trips overlapping: {string.Join(", ", overlapped.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}{(overlapped.Count > 0 ? ", " : "")}nothing {alone}");
        Trips.Clear();
    }

    private static double Epoch(DateTime t) => (t - DateTime.UnixEpoch).TotalMilliseconds;

    private static IEnumerable<string> ReadShared(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
            lines.Add(line);
        return lines;
    }

    /// <summary>The trace's lines as spans: a GC pause from suspension to restart, a sweep from start to end, an index write, a thread injected.</summary>
    private static IEnumerable<Span> Spans(string process, IEnumerable<string> lines)
    {
        double? suspended = null, sweep = null;
        var gen = "";
        var threads = -1;
        foreach (var line in lines)
        {
            var parts = line.Split(' ', 3);
            if (parts.Length < 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var t))
                continue;
            var details = parts.Length > 2 ? parts[2] : "";
            switch (parts[1])
            {
                case "GCSuspendEEBegin_V1":
                    suspended = t;
                    break;
                case "GCStart_V2":
                    gen = details;
                    break;
                case "GCRestartEEEnd_V1" when suspended is { } s:
                    yield return new Span(process, "gc-pause", s, t, gen);
                    suspended = null;
                    gen = "";
                    break;
                case "SweepStarted":
                    sweep = t;
                    break;
                case "SweepEnded" when sweep is { } s:
                    yield return new Span(process, "sweep", s, t, details);
                    sweep = null;
                    break;
                case "IndexWritten":
                    var ms = details.Split(' ').Select(d => d.Split('=')).Where(d => d[0] == "ms").Select(d => double.Parse(d[1], CultureInfo.InvariantCulture)).FirstOrDefault();
                    yield return new Span(process, "index-write", t - ms, t, details);
                    break;
                // Hill climbing reports every sample; only a rise in the thread count (or starvation, reason 6) is an injection.
                case "ThreadPoolWorkerThreadAdjustmentAdjustment":
                    var count = int.Parse(details.Split(' ')[0].Split('=')[1], CultureInfo.InvariantCulture);
                    if ((threads >= 0 && count > threads) || details.EndsWith("reason=6", StringComparison.Ordinal))
                        yield return new Span(process, "thread-injected", t, t, $"{threads}->{count} {details}");
                    threads = count;
                    break;
            }
        }
    }

    public static void Stop() => _self?.Dispose();
}
