using System.Diagnostics.Tracing;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// The monitor's work that could delay tasks on the same node, as .NET events (no cost without a listener): journal
/// sweeps and index writes. <c>Jobs.Bench --trace-tail</c> lines them up with slow round trips (see
/// <see cref="Hosting.TailTraceListener"/>).
/// </summary>
[EventSource(Name = "ActorJobs-Monitor")]
public sealed class MonitorEventSource : EventSource
{
    public static readonly MonitorEventSource Log = new();

    [Event(1, Level = EventLevel.Informational)]
    public void SweepStarted() => WriteEvent(1);

    /// <param name="entries">Tag entries the sweep went through.</param>
    /// <param name="read">Events it read from the journal and gave the index (the ones the index lacked).</param>
    [Event(2, Level = EventLevel.Informational)]
    public void SweepEnded(long entries, long read) => WriteEvent(2, entries, read);

    [Event(3, Level = EventLevel.Informational)]
    public void IndexWritten(int events, double milliseconds) => WriteEvent(3, events, milliseconds);
}
