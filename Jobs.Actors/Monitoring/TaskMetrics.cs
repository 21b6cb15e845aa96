using System.Globalization;
using System.Text;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// Task counters and runtime histograms for Prometheus, fed by the index writer with each event it records for the
/// first time (so an event seen live and again in the journal counts once). Written in Prometheus' text format.
/// </summary>
public sealed class TaskMetrics
{
    /// <summary>Prometheus' default buckets, in seconds.</summary>
    public static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly object _gate = new();
    private readonly Dictionary<(string Name, string State), long> _events = new();
    private readonly Dictionary<string, Histogram> _runtimes = new();

    public void Record(TaskEvent e)
    {
        var name = e.Name ?? "";
        lock (_gate)
        {
            _events[(name, e.State)] = _events.GetValueOrDefault((name, e.State)) + 1;
            if (e.Runtime is { } runtime && e.Type is EventTypes.TaskSucceeded or EventTypes.TaskFailed)
            {
                if (!_runtimes.TryGetValue(name, out var histogram))
                    _runtimes[name] = histogram = new Histogram();
                histogram.Observe(runtime);
            }
        }
    }

    public void WriteTo(StringBuilder text)
    {
        lock (_gate)
        {
            text.AppendLine("# HELP jobs_tasks_total Task events recorded by this node's monitor, by task name and the state they led to.");
            text.AppendLine("# TYPE jobs_tasks_total counter");
            foreach (var ((name, state), count) in _events.OrderBy(e => e.Key.Name, StringComparer.Ordinal).ThenBy(e => e.Key.State, StringComparer.Ordinal))
                text.Append("jobs_tasks_total{name=\"").Append(Escape(name)).Append("\",state=\"").Append(state).Append("\"} ").Append(count).Append('\n');
            text.AppendLine("# HELP jobs_task_runtime_seconds How long task bodies ran, by task name.");
            text.AppendLine("# TYPE jobs_task_runtime_seconds histogram");
            foreach (var (name, histogram) in _runtimes.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                var label = Escape(name);
                long cumulative = 0;
                for (var i = 0; i < Buckets.Length; i++)
                {
                    cumulative += histogram.Counts[i];
                    text.Append("jobs_task_runtime_seconds_bucket{name=\"").Append(label).Append("\",le=\"")
                        .Append(Buckets[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ").Append(cumulative).Append('\n');
                }
                text.Append("jobs_task_runtime_seconds_bucket{name=\"").Append(label).Append("\",le=\"+Inf\"} ").Append(histogram.Count).Append('\n');
                text.Append("jobs_task_runtime_seconds_sum{name=\"").Append(label).Append("\"} ")
                    .Append(histogram.Sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                text.Append("jobs_task_runtime_seconds_count{name=\"").Append(label).Append("\"} ").Append(histogram.Count).Append('\n');
            }
        }
    }

    /// <summary>A label value with Prometheus' escapes.</summary>
    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    private sealed class Histogram
    {
        public long[] Counts { get; } = new long[Buckets.Length];
        public long Count { get; private set; }
        public double Sum { get; private set; }

        public void Observe(double value)
        {
            Count++;
            Sum += value;
            var bucket = Array.FindIndex(Buckets, b => value <= b);
            if (bucket >= 0)
                Counts[bucket]++;
        }
    }
}
