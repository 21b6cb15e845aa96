using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// A cluster for the operating specs: seed, w1 and w2, the api node, plus w3 (queue "drain", to be shut down),
/// w5 (to be killed), w6 (to be downed) and n4, a node without shards whose only seed is an address nobody listens
/// on (to be told `cluster join`). The split-brain resolver waits a minute, so an unreachable member stays for an operator to down.
/// </summary>
public sealed class OperatingClusterFixture : IAsyncLifetime
{
    public RedisServer Redis { get; } = new();

    public ClusterProcesses Cluster { get; private set; } = null!;

    public int W4CmdPort { get; } = FreePort.Next();
    public int W4Port { get; } = FreePort.Next();
    public int W5Port { get; } = FreePort.Next();
    public int W6Port { get; } = FreePort.Next();
    public NodeProcess W4 { get; private set; } = null!;

    public static string Address(int port) => $"akka.tcp://jobs@127.0.0.1:{port}";

    public async Task InitializeAsync()
    {
        var config = Path.Combine(Path.GetTempPath(), $"jobs-operating-{Guid.NewGuid():N}.conf");
        // The resolver would otherwise also hold a downed member's singletons (the shard coordinators) for its minute.
        await File.WriteAllTextAsync(config, "akka.cluster.split-brain-resolver.stable-after = 60s\nakka.cluster.down-removal-margin = 2s");
        Cluster = new ClusterProcesses(Redis.ConnectionString, "--config", config);
        Cluster.StartSeed();
        Cluster.Workers["w1"] = Cluster.StartWorker("w1", "--concurrency", "2");
        Cluster.Workers["w2"] = Cluster.StartWorker("w2", "--concurrency", "2");
        Cluster.Workers["w3"] = Cluster.StartWorker("w3", "--concurrency", "2", "--queues", "drain");
        Cluster.Workers["w5"] = Cluster.StartWorker("w5", "--port", W5Port.ToString());
        Cluster.Workers["w6"] = Cluster.StartWorker("w6", "--port", W6Port.ToString());
        W4 = Cluster.StartSeedWithSeeds("n4", Address(FreePort.Next()), "--port", W4Port.ToString(), "--cmd-port", W4CmdPort.ToString());
        await Cluster.StartApiAsync();
        await Cluster.WaitForMembersUpAsync(7, TimeSpan.FromSeconds(120));
        await Cluster.WaitForTaskTypesAsync(TimeSpan.FromSeconds(30));
        await WaitUntilEveryWorkerAnswersAsync(["w1", "w2", "w3", "w5", "w6"], TimeSpan.FromSeconds(60));
    }

    /// <summary>Until inspection at the api node reaches every worker (remoting to each is set up by then).</summary>
    private async Task WaitUntilEveryWorkerAnswersAsync(string[] workers, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var output = "";
        while (DateTime.UtcNow < deadline)
        {
            (var exit, output, _) = await CliProcess.RunAsync(null, $"127.0.0.1:{Cluster.ApiCmdPort}", "tasks", "stats", "--json");
            if (exit == 0 && JsonNode.Parse(output)!.AsObject().Select(p => p.Key).Order().SequenceEqual(workers))
                return;
            await Task.Delay(250);
        }
        throw new TimeoutException($"tasks stats at the api node never listed {string.Join(", ", workers)}: {output}");
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Redis.Dispose();
    }
}

/// <summary>pbm's cluster commands and Celery's control commands against a real multi-process cluster.</summary>
public sealed class OperatingClusterSpec(OperatingClusterFixture fixture) : IClassFixture<OperatingClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private ClusterProcesses Cluster => fixture.Cluster;
    private string Api => $"127.0.0.1:{Cluster.ApiCmdPort}";

    private Task<(int Exit, string Out, string Err)> Cli(params string[] args) => CliProcess.RunAsync(null, [Api, .. args]);

    private async Task<JsonNode> JsonAsync(params string[] args)
    {
        var (exit, output, error) = await Cli([.. args, "--json"]);
        Assert.True(exit == 0, $"jobs {string.Join(' ', args)} exited with {exit}: {error}");
        return JsonNode.Parse(output)!;
    }

    /// <summary>Polls <c>cluster show</c> at the api node until <paramref name="holds"/> is true of the members.</summary>
    private async Task<JsonArray> MembersUntilAsync(Func<JsonArray, bool> holds, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        JsonArray members = [];
        while (DateTime.UtcNow < deadline)
        {
            members = (await JsonAsync("cluster", "show"))["members"]!.AsArray();
            if (holds(members))
                return members;
            await Task.Delay(250);
        }
        throw new TimeoutException($"cluster show never showed {what}: {members.ToJsonString()}");
    }

    private static JsonNode? Member(JsonArray members, string address) => members.FirstOrDefault(m => m!["address"]!.GetValue<string>() == address);

    /// <summary>
    /// Sends a task and waits for its result, sending again (same id) while shards move after a membership change,
    /// so the next spec starts on a cluster that serves.
    /// </summary>
    private async Task<JsonNode> SendRetryingAsync(string name, object args, string? queue = null, int? countdown = null)
    {
        var id = Guid.NewGuid().ToString();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            var request = new Dictionary<string, object> { ["args"] = args, ["task_id"] = id };
            if (queue is not null)
                request["queue"] = queue;
            if (countdown is not null)
                request["countdown"] = countdown;
            var (status, body) = await Cluster.Api!.PostAsync($"api/task/async-apply/{name}", request);
            if (status == 200)
                return body!;
            Assert.True(status == 503 && DateTime.UtcNow < deadline, $"async-apply {name} answered {status}: {body}");
        }
    }

    private async Task ServesAgainAsync()
    {
        var id = (await SendRetryingAsync("tasks.add", new[] { 1, 2 }))["task-id"]!.GetValue<string>();
        Assert.Equal(3, (await Cluster.ResultAsync(id, TimeSpan.FromSeconds(90)))["result"]!.GetValue<int>());
    }

    /// <summary>The worker that ran a task, asking again while its entity's shard moves (its node may just have left).</summary>
    private async Task<string> WorkerOfAsync(string id)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var (status, info) = await Cluster.Api!.GetAsync($"api/task/info/{id}");
            if (status == 200 && info?["worker"]?.GetValue<string>() is { } worker)
                return worker;
            Assert.True(DateTime.UtcNow < deadline, $"task info of {id} never named its worker: {status} {info}");
            await Task.Delay(200);
        }
    }

    private async Task WaitForExitAsync(NodeProcess process)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!process.HasExited && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(process.HasExited, $"the node's process did not exit; its last lines:{Environment.NewLine}{string.Join(Environment.NewLine, process.Output.TakeLast(30))}");
    }

    [Fact]
    public async Task A_node_whose_seeds_are_unreachable_joins_when_told_and_leaves_when_told()
    {
        await using var tail = CliProcess.Start(Api, "cluster", "tail");
        await tail.WaitForLineAsync(l => l.Contains("CurrentClusterState"), Deadline);
        await fixture.W4.WaitForOutputAsync(l => l.Contains("commands:"), Deadline);
        var w4 = OperatingClusterFixture.Address(fixture.W4Port);

        var (early, _, earlyError) = await CliProcess.RunAsync(null, $"127.0.0.1:{fixture.W4CmdPort}", "tasks", "stats");
        Assert.Equal(1, early);
        Assert.Contains("has not joined a cluster yet", earlyError);

        var (joined, _, joinError) = await CliProcess.RunAsync(null, $"127.0.0.1:{fixture.W4CmdPort}", "cluster", "join", Cluster.SeedAddress());
        Assert.True(joined == 0, joinError);
        await tail.WaitForLineAsync(l => l.Contains("MemberUp") && l.Contains(w4), Deadline);
        await MembersUntilAsync(m => Member(m, w4)?["status"]!.GetValue<string>() == "Up", $"{w4} Up");

        var (again, _, againError) = await CliProcess.RunAsync(null, $"127.0.0.1:{fixture.W4CmdPort}", "cluster", "join", Cluster.SeedAddress());
        Assert.Equal(1, again);
        Assert.Contains("already a member", againError);

        var (left, _, leaveError) = await Cli("cluster", "leave", w4);
        Assert.True(left == 0, leaveError);
        await MembersUntilAsync(m => Member(m, w4) is null, $"{w4} gone");
        await tail.WaitForLineAsync(l => l.Contains("MemberRemoved") && l.Contains(w4), Deadline);
        await WaitForExitAsync(fixture.W4);
        await ServesAgainAsync();
    }

    [Fact]
    public async Task Cluster_down_removes_a_member_from_cluster_show()
    {
        var w6 = OperatingClusterFixture.Address(fixture.W6Port);
        var (exit, _, error) = await Cli("cluster", "down", w6);
        Assert.True(exit == 0, error);
        await MembersUntilAsync(m => Member(m, w6) is null, $"{w6} gone");
        await ServesAgainAsync();
    }

    [Fact]
    public async Task Down_unreachable_downs_a_killed_member_before_the_resolver_would()
    {
        var w5 = OperatingClusterFixture.Address(fixture.W5Port);
        await Cluster.Workers["w5"].KillAsync();
        await MembersUntilAsync(m => Member(m, w5)?["reachable"]!.GetValue<bool>() == false, $"{w5} unreachable");

        var downed = await JsonAsync("cluster", "down-unreachable");
        Assert.Equal("downed", downed[w5]!.GetValue<string>());
        await MembersUntilAsync(m => Member(m, w5) is null, $"{w5} gone");
        await ServesAgainAsync();
    }

    [Fact]
    public async Task Pool_grow_and_shrink_aimed_at_one_worker_show_in_tasks_stats()
    {
        var grown = await JsonAsync("control", "pool", "grow", "2", "--worker", "w1");
        Assert.Equal(["w1"], grown.AsObject().Select(p => p.Key));
        Assert.Equal("pool grown to 4", grown["w1"]!["ok"]!.GetValue<string>());
        var stats = await JsonAsync("tasks", "stats");
        Assert.Equal(4, stats["w1"]!["concurrency"]!.GetValue<int>());
        Assert.Equal(2, stats["w2"]!["concurrency"]!.GetValue<int>());

        await JsonAsync("control", "pool", "shrink", "2", "--worker", "w1");
        Assert.Equal(2, (await JsonAsync("tasks", "stats"))["w1"]!["concurrency"]!.GetValue<int>());

        var (exit, _, error) = await Cli("control", "pool", "grow", "1", "--worker", "nobody");
        Assert.Equal(1, exit);
        Assert.Contains("unknown worker 'nobody'; workers: ", error);
    }

    [Fact]
    public async Task A_task_for_a_new_queue_runs_after_add_consumer_and_waits_again_after_cancel_consumer()
    {
        var first = (await SendRetryingAsync("tasks.mul", new[] { 6, 7 }, "reports"))["task-id"]!.GetValue<string>();
        var (waiting, _) = await Cluster.Api!.GetAsync($"api/task/result/{first}?timeout=1");
        Assert.Equal(408, waiting);

        var added = await JsonAsync("control", "add-consumer", "reports", "--worker", "w2");
        Assert.NotNull(added["w2"]!["ok"]);
        Assert.Equal(42, (await Cluster.ResultAsync(first, Deadline))["result"]!.GetValue<int>());
        Assert.Equal("w2", await WorkerOfAsync(first));
        Assert.Contains("reports", (await JsonAsync("tasks", "stats"))["w2"]!["queues"]!.AsArray().Select(q => q!.GetValue<string>()));

        await JsonAsync("control", "cancel-consumer", "reports", "--worker", "w2");
        Assert.DoesNotContain("reports", (await JsonAsync("tasks", "stats"))["w2"]!["queues"]!.AsArray().Select(q => q!.GetValue<string>()));
        var second = (await SendRetryingAsync("tasks.mul", new[] { 2, 3 }, "reports"))["task-id"]!.GetValue<string>();
        var (stillWaiting, body) = await Cluster.Api!.GetAsync($"api/task/result/{second}?timeout=2");
        Assert.Equal(408, stillWaiting);
        Assert.Equal("RECEIVED", body!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Shutdown_lets_the_running_task_finish_then_the_worker_leaves_the_cluster()
    {
        var nap = (await SendRetryingAsync("test.nap", new[] { 3 }, "drain"))["task-id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow + Deadline;
        while ((await Cluster.Api!.GetAsync($"api/task/info/{nap}")).Body?["state"]?.GetValue<string>() != "STARTED")
        {
            Assert.True(DateTime.UtcNow < deadline, "the nap never started on w3");
            await Task.Delay(100);
        }

        var reply = await JsonAsync("control", "shutdown", "w3");
        Assert.Contains("shutting down", reply["w3"]!["ok"]!.GetValue<string>());
        var result = await Cluster.ResultAsync(nap, Deadline);
        Assert.Equal("SUCCESS", result["state"]!.GetValue<string>());
        Assert.Equal("w3", await WorkerOfAsync(nap));
        await WaitForExitAsync(Cluster.Workers["w3"]);
        Assert.DoesNotContain("w3", (await JsonAsync("tasks", "stats")).AsObject().Select(p => p.Key));
        await ServesAgainAsync();
    }

    [Fact]
    public async Task Tasks_scheduled_and_revoked_asked_at_a_node_without_shards_cover_every_shard_node()
    {
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
            ids.Add((await SendRetryingAsync("tasks.add", new[] { i, i }, countdown: 300))["task-id"]!.GetValue<string>());
        var scheduled = await JsonAsync("tasks", "scheduled");
        Assert.All(ids, id => Assert.Equal("tasks.add", scheduled[id]?["name"]?.GetValue<string>()));

        await JsonAsync(["control", "revoke", .. ids]);
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var revoked = await JsonAsync("tasks", "revoked");
            if (ids.All(id => revoked[id]?["reason"]?.GetValue<string>() == "revoked"))
                break;
            Assert.True(DateTime.UtcNow < deadline, $"tasks revoked at the api node never listed every revoked task: {revoked.ToJsonString()}");
            await Task.Delay(200);
        }
        scheduled = await JsonAsync("tasks", "scheduled");
        Assert.All(ids, id => Assert.Null(scheduled[id]));
    }

    [Fact]
    public async Task Flower_control_endpoints_reach_the_named_worker_and_refuse_bad_parameters()
    {
        var (grown, body) = await Cluster.Api!.PostAsync("api/worker/pool/grow/w2?n=1", null);
        Assert.Equal(200, grown);
        Assert.Equal(["w2"], body!["workers"]!.AsObject().Select(p => p.Key));
        Assert.Equal(3, (await JsonAsync("tasks", "stats"))["w2"]!["concurrency"]!.GetValue<int>());
        Assert.Equal(200, (await Cluster.Api.PostAsync("api/worker/pool/shrink/w2", null)).Status);

        using (var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["ratelimit"] = "100/m", ["workername"] = "w1" }))
        {
            using var response = await Cluster.Api.Http!.PostAsync("api/task/rate-limit/tasks.add", form);
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Contains("100/m", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(200, (await Cluster.Api.PostAsync("api/task/rate-limit/tasks.add", new { ratelimit = "0", workername = "w1" })).Status);

        var (softOverHard, error) = await Cluster.Api.PostAsync("api/task/timeout/test.nap", new { soft = 5, hard = 2 });
        Assert.Equal(400, softOverHard);
        Assert.Contains("must not exceed", error!["error"]!.GetValue<string>());
        Assert.Equal(400, (await Cluster.Api.PostAsync("api/task/rate-limit/tasks.add", new { ratelimit = "fast" })).Status);
        Assert.Equal(400, (await Cluster.Api.PostAsync("api/worker/queue/add-consumer/w1", null)).Status);
        Assert.Equal(400, (await Cluster.Api.PostAsync("api/worker/pool/grow/w1?n=-2", null)).Status);
        Assert.Equal(404, (await Cluster.Api.PostAsync("api/worker/shutdown/nobody", null)).Status);
        Assert.Equal(404, (await Cluster.Api.PostAsync("api/task/rate-limit/tasks.zzz", new { ratelimit = "1/s" })).Status);
    }
}
