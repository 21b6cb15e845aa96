using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>The `jobs` CLI against a real node's command host, as an operator runs it.</summary>
[Collection(StandaloneNodeCollection.Name)]
public sealed class CliSpec(StandaloneNodeFixture fixture)
{
    private string Endpoint => $"127.0.0.1:{fixture.Node.CmdPort}";

    public static Task<(int Exit, string Out, string Err)> JobsAsync(params string[] args) => CliProcess.RunAsync(null, args);

    private async Task<JsonNode> JsonAsync(params string[] args)
    {
        var (exit, output, error) = await JobsAsync([Endpoint, .. args, "--json"]);
        Assert.True(exit == 0, $"jobs {string.Join(' ', args)} exited with {exit}: {error}");
        return JsonNode.Parse(output)!;
    }

    private async Task<JsonNode> InfoAsync(string id) => (await fixture.Node.Node.GetAsync($"api/task/info/{id}")).Body!;

    [Fact]
    public async Task Cluster_show_lists_the_members_as_json_and_as_a_table()
    {
        var (exit, output, _) = await JobsAsync(Endpoint, "cluster", "show", "--json");
        Assert.Equal(0, exit);
        var member = Assert.Single(JsonNode.Parse(output)!["members"]!.AsArray());
        Assert.Equal("Up", member!["status"]!.GetValue<string>());
        Assert.Equal(["api", "worker"], member["roles"]!.AsArray().Select(r => r!.GetValue<string>()));

        var (_, table, _) = await JobsAsync(Endpoint, "cluster", "show");
        Assert.Contains("(leader)", table);
        Assert.Contains("reachable", table);
    }

    [Fact]
    public async Task Tasks_registered_ping_and_stats_describe_the_worker()
    {
        var (_, registered, _) = await JobsAsync(Endpoint, "tasks", "registered", "--json");
        Assert.Contains("tasks.add", JsonNode.Parse(registered)!.AsArray().Select(n => n!.GetValue<string>()));

        var (pingExit, ping, _) = await JobsAsync(Endpoint, "tasks", "ping", "--json");
        Assert.Equal(0, pingExit);
        Assert.Equal("pong", JsonNode.Parse(ping)!.AsObject().Single().Value!["ok"]!.GetValue<string>());

        var (_, stats, _) = await JobsAsync(Endpoint, "tasks", "stats", "--json");
        var worker = JsonNode.Parse(stats)!.AsObject().Single().Value!;
        Assert.Equal(2, worker["concurrency"]!.GetValue<int>());
        Assert.Equal(["default"], worker["queues"]!.AsArray().Select(q => q!.GetValue<string>()));
    }

    [Fact]
    public async Task Tasks_query_and_control_revoke_act_on_task_ids()
    {
        var done = await fixture.Node.SendAsync("tasks.add", new { args = new[] { 3, 3 } });
        await fixture.Node.ResultAsync(done, TimeSpan.FromSeconds(30));
        var waiting = await fixture.Node.SendAsync("tasks.add", new { args = new[] { 1, 1 }, countdown = 60 });

        var (_, query, _) = await JobsAsync(Endpoint, "tasks", "query", done, "--json");
        Assert.Equal("SUCCESS", JsonNode.Parse(query)![done]!["state"]!.GetValue<string>());

        var (exit, revoked, _) = await JobsAsync(Endpoint, "control", "revoke", waiting, "--json");
        Assert.Equal(0, exit);
        Assert.Equal("REVOKED", JsonNode.Parse(revoked)![waiting]!.GetValue<string>());
    }

    [Fact]
    public async Task Sharding_stats_and_log_peek_show_the_node_from_inside()
    {
        await fixture.Node.ResultAsync(await fixture.Node.SendAsync("tasks.add", new { args = new[] { 1, 2 } }), TimeSpan.FromSeconds(30));
        var (exit, stats, _) = await JobsAsync(Endpoint, "sharding", "region-stats", "task", "--json");
        Assert.Equal(0, exit);
        Assert.True(JsonNode.Parse(stats)!.AsObject().Single().Value!["shards"]!.GetValue<int>() > 0);

        var (_, log, _) = await JobsAsync(Endpoint, "log", "peek", "500", "--json");
        Assert.Contains(JsonNode.Parse(log)!.AsArray(), line => line!.GetValue<string>().Contains("tasks.add["));
    }

    [Fact]
    public async Task Mistakes_and_unreachable_nodes_get_clear_errors_and_exit_codes()
    {
        var (unknown, _, error) = await JobsAsync(Endpoint, "actors", "hierarchy");
        Assert.Equal(1, unknown);
        Assert.Contains("unknown palette 'actors'", error);

        var (badCommand, _, commandError) = await JobsAsync(Endpoint, "tasks", "fly");
        Assert.Equal(1, badCommand);
        Assert.Contains("tasks commands:", commandError);

        var (unreachable, _, reachError) = await JobsAsync($"127.0.0.1:{FreePort.Next()}", "cluster", "show");
        Assert.Equal(2, unreachable);
        Assert.Contains("cannot reach a node", reachError);

        var (usage, _, usageError) = await JobsAsync("nonsense");
        Assert.Equal(2, usage);
        Assert.Contains("usage: jobs HOST:PORT", usageError);
    }

    [Fact]
    public async Task Shard_stats_show_each_shard_with_its_entities_and_node_and_actor_hierarchy_shows_the_node_s_actors()
    {
        var waiting = await fixture.Node.SendAsync("tasks.add", new { args = new[] { 5, 5 }, countdown = 60 });
        var shards = (await JsonAsync("sharding", "shard-stats", "task")).AsObject();
        Assert.NotEmpty(shards);
        Assert.All(shards, s => Assert.StartsWith("akka.tcp://jobs@127.0.0.1:", s.Value!["node"]!.GetValue<string>()));
        Assert.True(shards.Sum(s => s.Value!["entities"]!.GetValue<int>()) >= 1);

        var actors = (await JsonAsync("actor", "hierarchy", "2")).AsArray().Select(l => l!.GetValue<string>()).ToArray();
        Assert.Contains("  /user/worker", actors);
        Assert.Contains("  /system/sharding", actors);
        Assert.DoesNotContain(actors, a => a.StartsWith("    ", StringComparison.Ordinal));
        Assert.Contains((await JsonAsync("actor", "hierarchy", "4")).AsArray(), l => l!.GetValue<string>().Contains("/system/sharding/task/"));
        await JobsAsync(Endpoint, "control", "revoke", waiting);
    }

    [Fact]
    public async Task Tasks_scheduled_lists_a_countdown_task_until_it_is_revoked_and_tasks_revoked_lists_it_then()
    {
        var waiting = await fixture.Node.SendAsync("tasks.add", new { args = new[] { 1, 1 }, countdown = 120 });
        var scheduled = await JsonAsync("tasks", "scheduled");
        Assert.Equal("tasks.add", scheduled[waiting]!["name"]!.GetValue<string>());
        var eta = DateTimeOffset.Parse(scheduled[waiting]!["eta"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(eta, DateTimeOffset.UtcNow.AddSeconds(100), DateTimeOffset.UtcNow.AddSeconds(121));

        await JsonAsync("control", "revoke", waiting);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonNode revoked;
        while ((revoked = await JsonAsync("tasks", "revoked"))[waiting] is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"tasks revoked never listed {waiting}: {revoked.ToJsonString()}");
            await Task.Delay(100);
        }
        Assert.Equal("revoked", revoked[waiting]!["reason"]!.GetValue<string>());
        Assert.Null((await JsonAsync("tasks", "scheduled"))[waiting]);
    }

    [Fact]
    public async Task Log_tail_streams_a_line_logged_after_it_started()
    {
        await using var tail = CliProcess.Start(Endpoint, "log", "tail");
        // The stream is open once a line logged after the start arrives; tasks.add logs one per call.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var id = await fixture.Node.SendAsync("tasks.add", new { args = new[] { 20, 22 } });
            try
            {
                var line = await tail.WaitForLineAsync(l => l.Contains($"tasks.add[{id}]"), TimeSpan.FromSeconds(3));
                Assert.Contains("Adding 20 + 22", line);
                return;
            }
            catch (TimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    [Fact]
    public async Task The_interactive_prompt_runs_the_commands_it_reads_until_exit()
    {
        var (exit, output, error) = await CliProcess.RunAsync("help\ntasks ping\ncluster\nexit\ntasks stats\n", Endpoint);
        Assert.Equal(0, exit);
        Assert.Contains("control  rate-limit TASK RATE [--worker W]", output);
        Assert.Contains("pong", output);
        Assert.Contains("give a palette and a command", error);
        Assert.DoesNotContain("prefetch", output);
    }

    [Fact]
    public async Task Time_limits_set_remotely_end_attempts_softly_and_hard()
    {
        try
        {
            await JsonAsync("control", "time-limit", "test.nap", "0", "0.5");
            var hard = await fixture.Node.ResultAsync(await fixture.Node.SendAsync("test.nap", new { args = new[] { 30 } }), TimeSpan.FromSeconds(30));
            Assert.Equal("FAILURE", hard["state"]!.GetValue<string>());
            Assert.StartsWith("TimeLimitExceeded", hard["result"]!.GetValue<string>());

            await JsonAsync("control", "time-limit", "test.nap", "0.3", "0");
            var soft = await fixture.Node.ResultAsync(await fixture.Node.SendAsync("test.nap", new { args = new[] { 30 } }), TimeSpan.FromSeconds(30));
            Assert.Equal("FAILURE", soft["state"]!.GetValue<string>());
            Assert.StartsWith("SoftTimeLimitExceededException", soft["result"]!.GetValue<string>());
        }
        finally
        {
            await JobsAsync(Endpoint, "control", "time-limit", "test.nap", "0", "0");
        }
    }

    [Fact]
    public async Task A_rate_limit_set_remotely_is_never_exceeded_over_a_window()
    {
        try
        {
            var reply = await JsonAsync("control", "rate-limit", "test.tick", "2/s");
            Assert.Contains("2/s", reply.AsObject().Single().Value!["ok"]!.GetValue<string>());
            var ids = new List<string>();
            for (var i = 0; i < 7; i++)
                ids.Add(await fixture.Node.SendAsync("test.tick", new { args = new[] { i } }));
            var starts = new List<double>();
            foreach (var id in ids)
            {
                await fixture.Node.ResultAsync(id, TimeSpan.FromSeconds(30));
                starts.Add((await InfoAsync(id))["started"]!.GetValue<double>());
            }
            starts.Sort();
            // 2/s: no second holds a third start (the clock is read to the millisecond, hence the margin).
            for (var i = 0; i + 2 < starts.Count; i++)
                Assert.True(starts[i + 2] - starts[i] >= 0.98, $"starts {i} and {i + 2} are {starts[i + 2] - starts[i]:0.###} s apart");
        }
        finally
        {
            await JobsAsync(Endpoint, "control", "rate-limit", "test.tick", "0");
        }
    }

    [Fact]
    public async Task A_rate_limit_too_slow_to_keep_is_refused_and_the_task_type_still_runs()
    {
        var (exit, _, error) = await JobsAsync(Endpoint, "control", "rate-limit", "tasks.add", "1e-20");
        Assert.Equal(1, exit);
        Assert.Contains("too slow", error);
        var id = await fixture.Node.SendAsync("tasks.add", new { args = new[] { 20, 22 } });
        Assert.Equal(42, (await fixture.Node.ResultAsync(id, TimeSpan.FromSeconds(30)))["result"]!.GetValue<int>());
    }

    [Fact]
    public async Task Control_commands_with_bad_arguments_are_refused_with_the_reason()
    {
        (string[] Args, string Expected)[] cases =
        [
            (["control", "rate-limit", "tasks.add", "fast"], "'fast' is not a rate limit"),
            (["control", "rate-limit", "tasks.zzz", "1/s"], "unknown task 'tasks.zzz'"),
            (["control", "rate-limit", "tasks.add"], "usage: control rate-limit TASK RATE"),
            (["control", "time-limit", "test.nap", "5", "2"], "must not exceed the hard limit"),
            (["control", "time-limit", "test.nap", "-1", "2"], "SOFT must be a number of seconds"),
            (["control", "pool", "grow", "x"], "N must be a whole number > 0"),
            (["control", "pool", "double", "2"], "usage: control pool grow|shrink N"),
            (["control", "pool", "shrink", "100"], "at least one slot stays"),
            (["control", "add-consumer", "q", "--worker"], "--worker needs a worker name"),
            (["control", "shutdown"], "usage: control shutdown WORKER"),
            (["control", "shutdown", "nobody"], "unknown worker 'nobody'"),
            (["cluster", "join", "nowhere"], "is not an actor system address"),
            (["cluster", "join", "akka.tcp://jobs@127.0.0.1:1"], "already a member"),
            (["sharding", "shard-stats", "widgets"], "unknown type 'widgets'"),
            (["actor", "hierarchy", "0"], "DEPTH must be a whole number from 1 to 20"),
        ];
        foreach (var (args, expected) in cases)
        {
            var (exit, _, error) = await JobsAsync([Endpoint, .. args]);
            Assert.True(exit == 1, $"jobs {string.Join(' ', args)} exited with {exit}");
            Assert.Contains(expected, error);
        }
        var (usage, _, usageError) = await JobsAsync(Endpoint, "cluster");
        Assert.Equal(2, usage);
        Assert.Contains("usage: jobs HOST:PORT", usageError);
        var (unreachable, _, reachError) = await JobsAsync($"127.0.0.1:{FreePort.Next()}");
        Assert.Equal(2, unreachable);
        Assert.Contains("cannot reach a node", reachError);
    }
}
