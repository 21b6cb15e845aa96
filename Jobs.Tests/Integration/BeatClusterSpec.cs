using System.Globalization;
using System.Text.Json.Nodes;
using Jobs.Actors.Persistence.Redis;
using Jobs.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit;
using Xunit.Abstractions;

namespace Jobs.Tests.Integration;

/// <summary>
/// Schedule entries on a real cluster (seed, two workers, api node) sharing one Redis journal: the worker hosting an
/// entry is killed with SIGKILL mid-way and the entry goes on from a survivor with no tick skipped or repeated; a
/// run-time entry survives a restart of the whole cluster.
/// </summary>
public sealed class BeatClusterSpec(ITestOutputHelper output) : RedisClusterSpec(seeds: 1, workers: 2, "--concurrency", "2")
{
    private async Task<JsonNode?> EntryAsync(string name)
    {
        var (status, body) = await Cluster.Api!.GetAsync($"api/schedules/{name}");
        // While its shard moves the api node may answer an error: the caller asks again.
        return status == 200 ? body : null;
    }

    private async Task<JsonNode> WaitForAsync(string name, Func<JsonNode, bool> done)
    {
        var deadline = DateTime.UtcNow + Deadline;
        JsonNode? entry = null;
        while (DateTime.UtcNow < deadline)
        {
            entry = await EntryAsync(name);
            if (entry is not null && done(entry))
                return entry;
            await Task.Delay(200);
        }
        throw new TimeoutException($"{name} did not get there within {Deadline}: {entry}");
    }

    private static DateTimeOffset LastTick(JsonNode entry) =>
        entry["last_run"] is JsonObject run ? DateTimeOffset.Parse(run["tick"]!.GetValue<string>()) : DateTimeOffset.MinValue;

    /// <summary>
    /// Every task the entry sent, by tick, read straight from Redis (the journal's persistence-id index, as
    /// <see cref="RedisKeys"/> names it): the ids are derived from the ticks.
    /// </summary>
    private SortedDictionary<DateTimeOffset, string> TaskIdsByTick(string entry)
    {
        using var connection = ConnectionMultiplexer.Connect(Redis.ConnectionString);
        var keys = new RedisKeys("jobs:", partitions: 1);
        var ids = new SortedDictionary<DateTimeOffset, string>();
        foreach (var persistenceId in connection.GetDatabase().SortedSetRangeByRank(keys.PersistenceIds(0)).Select(v => (string)v!))
        {
            if (!persistenceId.StartsWith($"task-beat:{entry}:", StringComparison.Ordinal))
                continue;
            var taskId = persistenceId["task-".Length..];
            var stamp = taskId.Split(':')[^1];
            ids.Add(DateTimeOffset.ParseExact(stamp, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal), taskId);
        }
        return ids;
    }

    /// <summary>The worker whose beat region holds the entry, as `jobs … sharding region-stats beat` tells.</summary>
    private async Task<string> EntryHostAsync()
    {
        var (exit, output, error) = await CliSpec.JobsAsync($"127.0.0.1:{Cluster.ApiCmdPort}", "sharding", "region-stats", "beat", "--json");
        Assert.True(exit == 0, error);
        var address = Assert.Single(JsonNode.Parse(output)!.AsObject().Where(r => r.Value!["entities"]!.GetValue<int>() > 0).Select(r => r.Key));
        return Cluster.WorkerAddresses.Single(w => w.Value == address).Key;
    }

    [Fact]
    public async Task No_tick_is_skipped_or_repeated_when_the_node_hosting_the_entry_is_killed()
    {
        var (status, body) = await Cluster.Api!.PostAsync("api/schedules",
            new { name = "failover", task = "test.tick", args = new[] { 1 }, interval = 1, catch_up = "all", catch_up_window = 300 });
        Assert.True(status == 201, body?.ToJsonString());
        await WaitForAsync("failover", e => e["fired"]!.GetValue<long>() >= 5);

        var host = await EntryHostAsync();
        await Cluster.Workers[host].KillAsync();
        var killedAt = DateTimeOffset.UtcNow;
        // The survivor takes the entry over once the killed node is downed, and fires the ticks it missed meanwhile.
        var entry = await WaitForAsync("failover", e => LastTick(e) >= killedAt.AddSeconds(5));

        var resumedAfter = DateTimeOffset.UtcNow - killedAt;
        var ticks = TaskIdsByTick("failover");
        Assert.True(ticks.Count > 0, "no task of the entry is in the journal's persistence-id index");
        output.WriteLine($"killed {host} at {killedAt:HH:mm:ss.fff}; ticks {ticks.Keys.First():HH:mm:ss} to {ticks.Keys.Last():HH:mm:ss}: {ticks.Count} tasks, " +
                         $"no gap, each received once; the entry's ticks reached kill + 5 s {resumedAfter.TotalSeconds:0.0} s after the kill");
        var expected = Enumerable.Range(0, ticks.Count).Select(i => ticks.Keys.First().AddSeconds(i));
        Assert.Equal(expected, ticks.Keys);
        Assert.True(ticks.Keys.First() < killedAt && ticks.Keys.Last() >= killedAt.AddSeconds(5), $"{ticks.Keys.First():O} … {ticks.Keys.Last():O}");
        foreach (var (tick, taskId) in ticks)
        {
            var events = RedisJournalReader.Manifests(Redis, taskId);
            Assert.True(events.Count(e => e == "TaskReceived") == 1, $"{taskId}: {string.Join(", ", events)}");
            Assert.True(events.Count(e => e == "TaskSucceeded") <= 1, $"{taskId}: {string.Join(", ", events)}");
        }
        Assert.Equal(0, entry["missed"]!.GetValue<long>());
        Assert.Equal(0, entry["skipped"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_run_time_entry_added_over_http_survives_a_full_cluster_restart()
    {
        Assert.Equal(201, (await Cluster.Api!.PostAsync("api/schedules",
            new { name = "kept", task = "tasks.add", args = new[] { 1, 2 }, cron = "0 3 * * *", time_zone = "Europe/Berlin", overlap = "skip" })).Status);
        Assert.Equal(200, (await Cluster.Api!.PostAsync("api/schedules/kept/pause", null)).Status);
        Assert.Equal(201, (await Cluster.Api!.PostAsync("api/schedules", new { name = "ticking", task = "test.tick", args = new[] { 2 }, interval = 1 })).Status);
        var before = await WaitForAsync("ticking", e => e["fired"]!.GetValue<long>() >= 2);

        await Cluster.DisposeAsync();
        Cluster = new ClusterProcesses(Redis.ConnectionString);
        await Cluster.StartAllAsync(1, 2, "--concurrency", "2");

        var kept = await WaitForAsync("kept", _ => true);
        Assert.True(kept["paused"]!.GetValue<bool>());
        Assert.Equal(("0 3 * * *", "Europe/Berlin", "skip", "api"),
            (kept["cron"]!.GetValue<string>(), kept["time_zone"]!.GetValue<string>(), kept["overlap"]!.GetValue<string>(), kept["source"]!.GetValue<string>()));
        var (_, all) = await Cluster.Api!.GetAsync("api/schedules");
        Assert.Equal(["kept", "ticking"], all!.AsObject().Select(p => p.Key));
        var after = await WaitForAsync("ticking", e => LastTick(e) > LastTick(before).AddSeconds(3));
        Assert.True(after["fired"]!.GetValue<long>() > before["fired"]!.GetValue<long>());
    }
}
