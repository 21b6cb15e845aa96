namespace Jobs.Bench;

/// <summary>One measured figure; written as a JSON line with the field names every harness here uses.</summary>
/// <remarks>
/// W5 adds each node's RSS before the workload (<see cref="RssBefore"/>) and once it has settled after it
/// (<see cref="RssAfter"/>), and the journal's size on disk (<see cref="JournalMb"/>).
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
    double? JournalMb = null);
