using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace Jobs.Actors.Hosting;

/// <summary>
/// Writes what can stall a node for milliseconds to a file, one line per event with its wall-clock time, so a
/// benchmark can line slow round trips up with it: garbage collections (start, end, the suspension of every thread),
/// thread-pool threads injected or retired, and the monitor's sweeps and index writes (<see cref="Monitoring.MonitorEventSource"/>).
/// Started only when the environment variable <see cref="Variable"/> names the file (<c>Jobs.Bench --trace-tail</c> sets
/// it); a line is "unix-ms event details".
/// </summary>
public sealed class TailTraceListener : EventListener
{
    public const string Variable = "JOBS_TAIL_TRACE";

    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private const EventKeywords ThreadingKeyword = (EventKeywords)0x10000;

    private readonly StreamWriter? _out;
    private readonly Timer? _flush;
    private readonly List<EventSource> _early = new();

    private TailTraceListener(string path)
    {
        _out = new StreamWriter(path, append: false, Encoding.UTF8);
        _flush = new Timer(_ => Flush(), null, TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(500));
        // Sources created before the constructor ran were announced to OnEventSourceCreated before _out was set.
        lock (_early)
        {
            foreach (var source in _early)
                Enable(source);
            _early.Clear();
        }
    }

    /// <summary>A listener writing to the file <see cref="Variable"/> names, or null when it names none.</summary>
    public static TailTraceListener? FromEnvironment() =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path ? new TailTraceListener(path) : null;

    /// <summary>A listener writing to <paramref name="path"/> (a benchmark tracing its own process).</summary>
    public static TailTraceListener Start(string path) => new(path);

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (_out is null)
        {
            lock (_early)
                _early.Add(source);
            return;
        }
        Enable(source);
    }

    private void Enable(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Informational, GcKeyword | ThreadingKeyword);
        else if (source.Name == "ActorJobs-Monitor")
            EnableEvents(source, EventLevel.Informational);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        var details = e.EventName switch
        {
            "GCStart_V2" => $"gen={Payload(e, "Depth")} reason={Payload(e, "Reason")}",
            "GCEnd_V1" => $"gen={Payload(e, "Depth")}",
            "GCSuspendEEBegin_V1" or "GCRestartEEEnd_V1" or "GCRestartEEBegin_V1" or "GCSuspendEEEnd_V1" => "",
            "ThreadPoolWorkerThreadAdjustmentAdjustment" => $"threads={Payload(e, "NewWorkerThreadCount")} reason={Payload(e, "Reason")}",
            "ThreadPoolWorkerThreadStart" or "ThreadPoolWorkerThreadStop" => $"threads={Payload(e, "ActiveWorkerThreadCount")}",
            "SweepStarted" => "",
            "SweepEnded" => $"entries={Payload(e, "entries")} read={Payload(e, "read")}",
            "IndexWritten" => $"events={Payload(e, "events")} ms={Payload(e, "milliseconds")}",
            _ => null,
        };
        if (details is null || _out is null)
            return;
        var ms = (e.TimeStamp.ToUniversalTime() - DateTime.UnixEpoch).TotalMilliseconds;
        var line = string.Create(CultureInfo.InvariantCulture, $"{ms:0.000} {e.EventName} {details}");
        lock (_out)
            _out.WriteLine(line);
    }

    private static object? Payload(EventWrittenEventArgs e, string name)
    {
        var i = e.PayloadNames?.IndexOf(name) ?? -1;
        return i >= 0 ? e.Payload![i] : null;
    }

    private void Flush()
    {
        if (_out is null)
            return;
        lock (_out)
            _out.Flush();
    }

    public override void Dispose()
    {
        _flush?.Dispose();
        base.Dispose();
        if (_out is not null)
            lock (_out)
                _out.Dispose();
    }
}
