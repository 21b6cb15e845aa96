using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Jobs.Bench;

/// <summary>
/// Memory of many schedule entries on one node: RSS before, after defining N entries over HTTP, and once they settled
/// (far-off entries sleep in their directory partition). <c>minute</c> entries tick every minute, so they stay live.
/// </summary>
public static class BeatBenchmark
{
    public static async Task RunAsync(string target, int entries, string schedule)
    {
        await using var bench = await BenchTarget.StartAsync(target);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{bench.HttpPort}/"), Timeout = TimeSpan.FromSeconds(60) };
        await Task.Delay(TimeSpan.FromSeconds(10));
        var before = bench.CurrentRss();
        var clock = Stopwatch.StartNew();
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i <= entries; i = Interlocked.Increment(ref next))
            {
                // Spread over the day (or the minute), as real entries are, so they do not all wake at once.
                var cron = schedule == "minute" ? "* * * * *" : $"{i % 60} {i / 60 % 24} * * *";
                using var response = await http.PostAsJsonAsync("api/schedules", new { name = $"entry-{i:00000}", task = "tasks.add", args = new[] { i, i }, cron });
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"entry {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }));
        var defined = clock.Elapsed;
        var peak = bench.TakePeakRss();
        await Task.Delay(TimeSpan.FromSeconds(90));
        var settled = bench.CurrentRss();
        clock.Restart();
        using var list = await http.GetAsync("api/schedules?limit=100000");
        var listed = (await list.Content.ReadFromJsonAsync<JsonObject>())!.Count;
        var listTime = clock.Elapsed;
        var live = (await http.GetFromJsonAsync<JsonObject>("api/cluster/shards"))!.Sum(n => n.Value!["beat"]!["entities"]!.GetValue<int>());
        var afterList = bench.CurrentRss();
        Console.WriteLine($"beat {target} {schedule}: {entries} entries defined in {defined.TotalSeconds:0.0} s ({entries / defined.TotalSeconds:0}/s); " +
                          $"RSS MB before {Show(before)}, peak while defining {Show(peak)}, settled 90 s later {Show(settled)}, after listing them all {Show(afterList)}; " +
                          $"{live} entries live (the rest asleep); GET /api/schedules listed {listed} in {listTime.TotalSeconds:0.00} s; journal {bench.JournalMb()} MB");
    }

    private static string Show(IReadOnlyDictionary<string, double> rss) => string.Join(" ", rss.Select(p => $"{p.Key}:{p.Value:0}"));
}
