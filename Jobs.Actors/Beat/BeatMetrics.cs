using System.Globalization;
using System.Text;
using Jobs.Actors.Monitoring;

namespace Jobs.Actors.Beat;

/// <summary>
/// The beat's Prometheus metrics on a monitoring node, from the live <see cref="BeatTick"/> events: ticks by entry and
/// outcome (fired, run-now, skipped, queued, missed), and how late fired ticks were sent.
/// </summary>
public sealed class BeatMetrics
{
    public static readonly double[] Buckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

    private readonly object _gate = new();
    private readonly Dictionary<(string Entry, string Outcome), long> _ticks = new();
    private readonly Dictionary<string, (long[] Counts, long Count, double Sum)> _lateness = new();

    public void Record(BeatTick tick)
    {
        lock (_gate)
        {
            _ticks[(tick.Entry, tick.Outcome)] = _ticks.GetValueOrDefault((tick.Entry, tick.Outcome)) + tick.Count;
            if (tick.Outcome != "fired")
                return;
            var (counts, count, sum) = _lateness.TryGetValue(tick.Entry, out var known) ? known : (new long[Buckets.Length], 0, 0);
            var bucket = Array.FindIndex(Buckets, b => tick.Lateness <= b);
            if (bucket >= 0)
                counts[bucket]++;
            _lateness[tick.Entry] = (counts, count + 1, sum + tick.Lateness);
        }
    }

    public void WriteTo(StringBuilder text)
    {
        lock (_gate)
        {
            text.AppendLine("# HELP jobs_beat_ticks_total Schedule entry ticks seen by this node's monitor, by entry and outcome (fired, run-now, skipped, queued, missed).");
            text.AppendLine("# TYPE jobs_beat_ticks_total counter");
            foreach (var ((entry, outcome), count) in _ticks.OrderBy(t => t.Key.Entry, StringComparer.Ordinal).ThenBy(t => t.Key.Outcome, StringComparer.Ordinal))
                text.Append("jobs_beat_ticks_total{entry=\"").Append(TaskMetrics.Escape(entry)).Append("\",outcome=\"").Append(outcome).Append("\"} ").Append(count).Append('\n');
            text.AppendLine("# HELP jobs_beat_tick_lateness_seconds How long after its tick a fired tick was journaled and sent, by entry.");
            text.AppendLine("# TYPE jobs_beat_tick_lateness_seconds histogram");
            foreach (var (entry, (counts, count, sum)) in _lateness.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                var label = TaskMetrics.Escape(entry);
                long cumulative = 0;
                for (var i = 0; i < Buckets.Length; i++)
                {
                    cumulative += counts[i];
                    text.Append("jobs_beat_tick_lateness_seconds_bucket{entry=\"").Append(label).Append("\",le=\"")
                        .Append(Buckets[i].ToString(CultureInfo.InvariantCulture)).Append("\"} ").Append(cumulative).Append('\n');
                }
                text.Append("jobs_beat_tick_lateness_seconds_bucket{entry=\"").Append(label).Append("\",le=\"+Inf\"} ").Append(count).Append('\n');
                text.Append("jobs_beat_tick_lateness_seconds_sum{entry=\"").Append(label).Append("\"} ").Append(sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
                text.Append("jobs_beat_tick_lateness_seconds_count{entry=\"").Append(label).Append("\"} ").Append(count).Append('\n');
            }
        }
    }
}
