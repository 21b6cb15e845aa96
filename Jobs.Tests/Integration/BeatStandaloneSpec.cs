using System.Globalization;
using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// Periodic tasks on a standalone node process, as README shows them: a HOCON entry every second runs once per second,
/// each tick once; entries over HTTP and the CLI; bad input refused naming the field; a bad HOCON entry stops the node.
/// </summary>
public sealed class BeatStandaloneSpec : IAsyncLifetime
{
    private static readonly string Conf = """
        jobs.beat.schedule {
          every-second { task = "tasks.add", args = [20, 22], interval = 1s }
          failing { task = "tasks.fail", args = ["on purpose"], interval = 1s }
          sleepy { task = "tasks.add", args = [1, 1], interval = 4s }
        }
        # So that "sleepy" leaves memory between its ticks and its directory partition wakes it for each.
        jobs.beat { sleep-beyond = 2s, wake-ahead = 1s }
        """;

    private readonly string _confPath = Path.Combine(Path.GetTempPath(), $"beat-{Guid.NewGuid():N}.conf");
    private StandaloneNode _node = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_confPath, Conf);
        _node = new StandaloneNode("--config", _confPath);
        await _node.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        File.Delete(_confPath);
    }

    private string Endpoint => $"127.0.0.1:{_node.CmdPort}";

    private async Task<JsonNode> EntryAsync(string name)
    {
        var (status, body) = await _node.Node.GetAsync($"api/schedules/{name}");
        Assert.True(status == 200, $"GET {name}: {status} {body}");
        return body!;
    }

    /// <summary>Polls (with a deadline) until the entry satisfies <paramref name="done"/>.</summary>
    private async Task<JsonNode> WaitForAsync(string name, Func<JsonNode, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var entry = await EntryAsync(name);
            if (done(entry))
                return entry;
            Assert.True(DateTime.UtcNow < deadline, $"{name} did not get there within {timeout}: {entry}");
            await Task.Delay(100);
        }
    }

    /// <summary>The tick instants of the entry's tasks, from the task ids in the SQLite journal, and each one's TaskReceived count.</summary>
    private IReadOnlyDictionary<DateTimeOffset, int> JournaledTicks(string entry)
    {
        using var connection = new SqliteConnection($"Data Source={_node.JournalPath};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT persistence_id, count(*) FROM journal WHERE persistence_id LIKE $prefix AND manifest = 'TaskReceived' GROUP BY persistence_id";
        command.Parameters.AddWithValue("$prefix", $"task-beat:{entry}:%");
        using var reader = command.ExecuteReader();
        var ticks = new Dictionary<DateTimeOffset, int>();
        while (reader.Read())
        {
            var stamp = reader.GetString(0).Split(':')[^1];
            ticks[DateTimeOffset.ParseExact(stamp, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal)] = reader.GetInt32(1);
        }
        return ticks;
    }

    [Fact]
    public async Task An_every_second_entry_runs_n_times_in_n_seconds_each_tick_once_and_a_failing_task_keeps_firing()
    {
        var first = await WaitForAsync("every-second", e => e["fired"]!.GetValue<long>() >= 1, TimeSpan.FromSeconds(30));
        var from = DateTimeOffset.Parse(first["last_run"]!["tick"]!.GetValue<string>());
        const int seconds = 10;
        var entry = await WaitForAsync("every-second", e => DateTimeOffset.Parse(e["last_run"]!["tick"]!.GetValue<string>()) >= from.AddSeconds(seconds),
            TimeSpan.FromSeconds(seconds + 30));
        Assert.Equal("SUCCESS", (await _node.ResultAsync(entry["last_run"]!["task_id"]!.GetValue<string>(), TimeSpan.FromSeconds(30)))["state"]!.GetValue<string>());

        var ticks = JournaledTicks("every-second");
        var window = ticks.Keys.Where(t => t > from && t <= from.AddSeconds(seconds)).Order().ToArray();
        Assert.InRange(window.Length, seconds - 1, seconds + 1);
        // One task per tick, each received once, and no tick left out between the first and the last.
        Assert.All(ticks, t => Assert.Equal(1, t.Value));
        var all = ticks.Keys.Order().ToArray();
        Assert.Equal(Enumerable.Range(0, all.Length).Select(i => all[0].AddSeconds(i)), all);

        var failing = await WaitForAsync("failing", e => e["fired"]!.GetValue<long>() >= 3 && e["last_run"]?["state"]?.GetValue<string>() == "FAILURE",
            TimeSpan.FromSeconds(30));
        Assert.Equal("tasks.fail", failing["task"]!.GetValue<string>());

        // The monitor streams each tick as a beat-tick event.
        using (var client = new HttpClient { BaseAddress = _node.Node.Http!.BaseAddress, Timeout = TimeSpan.FromSeconds(30) })
        using (var response = await client.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead))
        using (var reader = new StreamReader(await response.Content.ReadAsStreamAsync()))
        {
            string? line;
            while ((line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))) != "event: beat")
                Assert.NotNull(line);
            var tick = JsonNode.Parse((await reader.ReadLineAsync())!["data: ".Length..])!.AsArray()[0]!;
            Assert.Equal("beat-tick", tick["type"]!.GetValue<string>());
            Assert.Contains(tick["entry"]!.GetValue<string>(), new[] { "every-second", "failing", "sleepy" });
            Assert.Equal("fired", tick["outcome"]!.GetValue<string>());
            Assert.StartsWith("beat:", tick["task_id"]!.GetValue<string>());
        }

        var (status, metrics) = await _node.Node.GetAsync("metrics");
        Assert.Equal(200, status);
        Assert.Contains("jobs_beat_ticks_total{entry=\"every-second\",outcome=\"fired\"}", metrics!.GetValue<string>());
        Assert.Contains("jobs_beat_tick_lateness_seconds_count{entry=\"every-second\"}", metrics.GetValue<string>());
    }

    [Fact]
    public async Task An_entry_that_sleeps_between_its_ticks_is_woken_by_its_directory_for_each_one()
    {
        // Polled through the list, which the directory answers without waking any entry.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        long fired = 0;
        var fewestLive = int.MaxValue;
        while (fired < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, $"sleepy fired {fired} times");
            var (_, all) = await _node.Node.GetAsync("api/schedules");
            fired = all!["sleepy"]!["fired"]!.GetValue<long>();
            var (_, shards) = await _node.Node.GetAsync("api/cluster/shards");
            fewestLive = Math.Min(fewestLive, shards!.AsObject().Single().Value!["beat"]!["entities"]!.GetValue<int>());
            await Task.Delay(200);
        }
        var ticks = JournaledTicks("sleepy").Keys.Order().ToArray();
        Assert.Equal(Enumerable.Range(0, ticks.Length).Select(i => ticks[0].AddSeconds(4 * i)), ticks);
        // The two every-second entries stay live; sleepy was out of memory between ticks.
        Assert.Equal(2, fewestLive);
    }

    [Fact]
    public async Task Entries_are_created_read_paused_resumed_run_and_removed_over_http_and_bad_ones_are_refused_naming_the_field()
    {
        var (status, created) = await _node.Node.PostAsync("api/schedules",
            new { name = "nightly", task = "tasks.add", args = new[] { 1, 2 }, cron = "0 3 * * *", time_zone = "Europe/Berlin", overlap = "skip" });
        Assert.True(status == 201, created?.ToJsonString());
        Assert.Equal("at 03:00 every day (Europe/Berlin)", created!["schedule"]!.GetValue<string>());
        var next = created["next_run_times"]!.AsArray();
        Assert.Equal(5, next.Count);
        Assert.Matches(@"T03:00:00\+0[12]:00$", next[0]!["at"]!.GetValue<string>());
        Assert.Equal("api", created["source"]!.GetValue<string>());

        Assert.True((await _node.Node.PostAsync("api/schedules/nightly/pause", null)).Body!["paused"]!.GetValue<bool>());
        Assert.False((await _node.Node.PostAsync("api/schedules/nightly/resume", null)).Body!["paused"]!.GetValue<bool>());
        var (_, ran) = await _node.Node.PostAsync("api/schedules/nightly/run-now", null);
        var taskId = ran!["task_id"]!.GetValue<string>();
        Assert.Equal(3, (await _node.ResultAsync(taskId, TimeSpan.FromSeconds(30)))["result"]!.GetValue<int>());
        Assert.Equal(taskId, (await EntryAsync("nightly"))["last_run"]!["task_id"]!.GetValue<string>());
        var (_, all) = await _node.Node.GetAsync("api/schedules");
        Assert.Equal(["every-second", "failing", "nightly", "sleepy"], all!.AsObject().Select(p => p.Key));

        foreach (var (body, field) in new (object Body, string Field)[]
                 {
                     (new { name = "x", task = "tasks.add", cron = "0 3 * *" }, "cron"),
                     (new { name = "x", task = "tasks.add", cron = "0 3 * * *", time_zone = "Moon/Base" }, "time_zone"),
                     (new { name = "x", task = "tasks.add", interval = 0 }, "interval"),
                     (new { name = "x", task = "tasks.nope", interval = 5 }, "task"),
                     (new { name = "nightly", task = "tasks.add", interval = 5 }, "name"),
                     (new { name = "every-second", task = "tasks.add", interval = 5 }, "name"),
                 })
        {
            var (code, error) = await _node.Node.PostAsync("api/schedules", body);
            Assert.True(code == 400, $"{field}: {code} {error}");
            Assert.Equal(field, error!["field"]!.GetValue<string>());
        }
        Assert.Equal(400, (await _node.Node.PostAsync("api/schedules", "{not json")).Status);
        Assert.Equal("name", (await DeleteAsync("every-second")).Body!["field"]!.GetValue<string>());
        Assert.Equal(404, (await _node.Node.GetAsync("api/schedules/nobody")).Status);
        Assert.Equal(200, (await DeleteAsync("nightly")).Status);
        Assert.Equal(404, (await _node.Node.GetAsync("api/schedules/nightly")).Status);
    }

    private async Task<(int Status, JsonNode? Body)> DeleteAsync(string name)
    {
        using var response = await _node.Node.Http!.DeleteAsync($"api/schedules/{name}");
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task The_cli_lists_adds_pauses_resumes_runs_and_removes_entries()
    {
        var (exit, output, error) = await CliSpec.JobsAsync(Endpoint, "beat", "add", "cli-entry", "tasks.mul", "--cron", "30 4 * * 1-5", "--args", "[6, 7]",
            "--time-zone", "America/New_York");
        Assert.True(exit == 0, error);
        Assert.Contains("at 04:30 on Monday to Friday (America/New_York)", output);

        (exit, output, error) = await CliSpec.JobsAsync(Endpoint, "beat", "pause", "cli-entry");
        Assert.True(exit == 0, error);
        Assert.Contains("paused", output);
        Assert.True((await EntryAsync("cli-entry"))["paused"]!.GetValue<bool>());
        (exit, _, error) = await CliSpec.JobsAsync(Endpoint, "beat", "resume", "cli-entry");
        Assert.True(exit == 0, error);
        Assert.False((await EntryAsync("cli-entry"))["paused"]!.GetValue<bool>());

        (exit, output, error) = await CliSpec.JobsAsync(Endpoint, "beat", "run-now", "cli-entry", "--json");
        Assert.True(exit == 0, error);
        var taskId = JsonNode.Parse(output)!["cli-entry"]!["last_run"]!.GetValue<string>();
        Assert.Equal(42, (await _node.ResultAsync(taskId, TimeSpan.FromSeconds(30)))["result"]!.GetValue<int>());

        (exit, output, error) = await CliSpec.JobsAsync(Endpoint, "beat", "next", "cli-entry", "3", "--json");
        Assert.True(exit == 0, error);
        var ticks = JsonNode.Parse(output)!.AsObject();
        Assert.Equal(3, ticks.Count);
        Assert.All(ticks, t => Assert.Matches(@"T04:30:00-0[45]:00$", t.Value!["America/New_York"]!.GetValue<string>()));

        (exit, output, error) = await CliSpec.JobsAsync(Endpoint, "beat", "list");
        Assert.True(exit == 0, error);
        Assert.Contains("cli-entry", output);
        Assert.Contains("every-second", output);
        Assert.Contains(taskId, output);

        (exit, _, error) = await CliSpec.JobsAsync(Endpoint, "beat", "add", "bad", "tasks.mul", "--cron", "0 3 * *");
        Assert.Equal(1, exit);
        Assert.Contains("cron:", error);
        (exit, _, error) = await CliSpec.JobsAsync(Endpoint, "beat", "remove", "every-second");
        Assert.Equal(1, exit);
        Assert.Contains("jobs.beat.schedule", error);
        (exit, _, error) = await CliSpec.JobsAsync(Endpoint, "beat", "remove", "cli-entry");
        Assert.True(exit == 0, error);
        Assert.Equal(404, (await _node.Node.GetAsync("api/schedules/cli-entry")).Status);
    }

    [Fact]
    public async Task A_bad_hocon_entry_stops_the_node_at_start_naming_the_entry()
    {
        var bad = Path.Combine(Path.GetTempPath(), $"beat-bad-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(bad, """jobs.beat.schedule { broken { task = "tasks.add", cron = "0 3 * * *", time-zone = "Atlantis/Capital" } }""");
        try
        {
            await using var node = new StandaloneNode("--config", bad);
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => node.StartAsync());
            Assert.Contains("exited with 2", error.Message);
            Assert.Contains("jobs.beat.schedule.broken.time-zone: unknown time zone 'Atlantis/Capital'", error.Message);
        }
        finally
        {
            File.Delete(bad);
        }
    }
}
