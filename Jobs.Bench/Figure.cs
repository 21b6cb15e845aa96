namespace Jobs.Bench;

/// <summary>One measured figure; written as a JSON line with the field names every harness here uses.</summary>
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
    IReadOnlyDictionary<string, double>? RssByProcess = null);
