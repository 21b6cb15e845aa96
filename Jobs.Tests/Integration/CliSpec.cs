using System.Diagnostics;
using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>The `jobs` CLI against a real node's command host, as an operator runs it.</summary>
[Collection(StandaloneNodeCollection.Name)]
public sealed class CliSpec(StandaloneNodeFixture fixture)
{
    private string Endpoint => $"127.0.0.1:{fixture.Node.CmdPort}";

    public static async Task<(int Exit, string Out, string Err)> JobsAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "jobs.dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        return (process.ExitCode, await stdout, await stderr);
    }

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
}
