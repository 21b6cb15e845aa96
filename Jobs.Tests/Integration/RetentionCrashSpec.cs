using System.Globalization;
using Jobs.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// kill -9 of a standalone node in the middle of a sweep (issue 17), on Redis: it loses no unexpired task, and what it
/// left half purged the next node's sweeps remove. The results expire while a node without a sweeper holds them, so
/// the next node starts with a backlog its small batches take several seconds to work off, and is killed once
/// /metrics shows it purging with more still due.
/// </summary>
public sealed class RetentionCrashSpec : IAsyncLifetime
{
    private const int Tasks = 2000;
    private const int Canvases = 10;
    private const int CanvasMembers = 20;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);
    private readonly RedisServer _redis = new();
    private readonly List<StandaloneNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        _redis.Dispose();
    }

    private async Task<StandaloneNode> StartAsync(string retention)
    {
        var config = Path.Combine(Path.GetTempPath(), "jobs-retention-crash-" + Guid.NewGuid().ToString("N")[..8] + ".conf");
        await File.WriteAllTextAsync(config, "jobs.retention {\n" + retention + "\n}\n");
        var node = new StandaloneNode("--journal", "redis", "--redis", _redis.ConnectionString, "--config", config);
        _nodes.Add(node);
        await node.StartAsync();
        return node;
    }

    private static string Sig(string task, string args, string options = "{}") =>
        $$"""{"task": "{{task}}", "args": {{args}}, "kwargs": {}, "options": {{options}}, "subtask_type": null}""";

    private static string Group(int members, int offset, double resultExpires) =>
        $$$"""{"task": "celery.group", "subtask_type": "group", "options": {"result_expires": {{{resultExpires.ToString(CultureInfo.InvariantCulture)}}}}, "kwargs": {"tasks": [{{{string.Join(", ", Enumerable.Range(offset, members).Select(i => Sig("tasks.add", $"[{i}, 1]")))}}}]}}""";

    [Fact]
    public async Task A_node_killed_in_the_middle_of_a_sweep_loses_no_unexpired_task_and_the_next_sweeps_leave_nothing_behind()
    {
        // The results are stored by a node that does not sweep, so all of them are due at once for the next one.
        var loader = await StartAsync("enabled = off");
        var baseline = Keys();
        var later = await loader.SendAsync("tasks.add", new { args = new[] { 40, 2 }, countdown = 20 });
        var kept = new string[20];
        for (var i = 0; i < kept.Length; i++)
            kept[i] = await loader.SendAsync("tasks.add", new { args = new[] { i, 100 }, result_expires = 3600 });
        var (keptCanvas, keptMembers) = await StartCanvasAsync(loader, Group(CanvasMembers, 0, 3600));
        var expiring = new string[Tasks];
        await Parallel.ForAsync(0, Tasks, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            expiring[i] = await loader.SendAsync("tasks.add", new { args = new[] { i, 1 }, result_expires = 1 }));
        var canvases = new List<(string Id, string[] Members)>();
        for (var i = 0; i < Canvases; i++)
            canvases.Add(await StartCanvasAsync(loader, Group(CanvasMembers, 1000 * (i + 1), 1)));
        foreach (var id in expiring[^20..].Concat(kept))
            await loader.ResultAsync(id, Deadline);
        foreach (var id in canvases.Select(c => c.Id).Append(keptCanvas))
            await AwaitCanvasAsync(loader, id);
        await loader.KillAsync();

        var keptIds = kept.Append(later).Concat(keptMembers).Select(id => "task-" + id).Append("canvas-" + keptCanvas).ToHashSet();
        var goneIds = expiring.Concat(canvases.SelectMany(c => c.Members)).Select(id => "task-" + id).Concat(canvases.Select(c => "canvas-" + c.Id)).ToHashSet();
        var loaded = Left(goneIds);
        Assert.True(loaded.Due == goneIds.Count - Canvases * CanvasMembers, $"not every expiring result was due: {loaded}");

        // Twenty ids a sweep, one sweep at a time: the backlog takes several seconds to purge.
        var sweeper = await StartAsync("sweep-interval = 100ms\nbatch-size = 20\nmax-batches-per-sweep = 1");
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var metrics = (await sweeper.Node.GetAsync("metrics")).Body?.GetValue<string>() ?? "";
            if (Metric(metrics, "jobs_retention_purged_total") > 0 && Metric(metrics, "jobs_retention_due") > 0)
                break;
            Assert.True(DateTime.UtcNow < deadline, $"the sweeper did not start purging: {metrics}");
            await Task.Delay(20);
        }
        await sweeper.KillAsync();
        var cut = Left(goneIds);
        Assert.True(cut.Due > 0 && cut.Due < loaded.Due, $"the kill did not come in the middle of the sweep: loaded {loaded}; cut {cut}");

        var last = await StartAsync("sweep-interval = 200ms");
        Assert.Equal(42, (await last.ResultAsync(later, Deadline))["result"]!.GetValue<int>());
        var left = cut;
        while ((left = Left(goneIds)) is not { Keys: 0, Ids: 0, Due: 0 })
        {
            Assert.True(DateTime.UtcNow < deadline, $"the expired results were not all purged: loaded {loaded}; cut {cut}; now {left}");
            await Task.Delay(250);
        }
        // Back to the keys there were before, but for the kept results' and a few fixed ones (the tag stream, the indexes).
        var added = Keys().Except(baseline).Where(key => !keptIds.Any(id => key.EndsWith(id, StringComparison.Ordinal))).ToArray();
        Assert.True(added.Length <= 5, $"keys left behind: {string.Join(", ", added)}");

        for (var i = 0; i < kept.Length; i++)
            Assert.Equal(i + 100, (await last.Node.GetAsync($"api/task/result/{kept[i]}")).Body!["result"]!.GetValue<int>());
        var (_, canvas) = await last.Node.GetAsync($"api/canvas/{keptCanvas}");
        Assert.Equal(Enumerable.Range(0, CanvasMembers).Select(i => i + 1L), canvas!["result"]!.AsArray().Select(r => r!.GetValue<long>()));
        Assert.Equal("SUCCESS", (await last.Node.GetAsync($"api/task/result/{keptMembers[0]}")).Body!["state"]!.GetValue<string>());
        foreach (var id in expiring[..10].Concat(expiring[^10..]).Concat(canvases[0].Members))
            Assert.Equal("PENDING", (await last.Node.GetAsync($"api/task/result/{id}")).Body!["state"]!.GetValue<string>());
        foreach (var (id, _) in canvases)
            Assert.Equal("PENDING", (await last.Node.GetAsync($"api/canvas/{id}")).Body!["state"]!.GetValue<string>());
    }

    private static async Task<(string Id, string[] Members)> StartCanvasAsync(StandaloneNode node, string signature)
    {
        var (status, started) = await node.Node.PostAsync("api/canvas", signature);
        Assert.True(status == 200, $"POST /api/canvas answered {status}: {started}");
        return (started!["task-id"]!.GetValue<string>(), started["children"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray());
    }

    private static async Task AwaitCanvasAsync(StandaloneNode node, string id)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while ((await node.Node.GetAsync($"api/canvas/{id}?timeout=5")).Body!["state"]!.GetValue<string>() != "SUCCESS")
            Assert.True(DateTime.UtcNow < deadline, $"canvas {id} did not finish");
    }

    private static double Metric(string metrics, string name)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    /// <summary>Every key but sharding's own stores.</summary>
    private HashSet<string> Keys()
    {
        using var redis = ConnectionMultiplexer.Connect(_redis.ConnectionString);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        return server.Keys(pattern: "*", pageSize: 1000).Select(k => (string)k!).Where(k => !k.Contains("sharding", StringComparison.Ordinal)).ToHashSet();
    }

    /// <summary>What is left of these persistence ids: their keys, their id-set entries, their expiry entries.</summary>
    private Leftover Left(IReadOnlySet<string> persistenceIds)
    {
        using var redis = ConnectionMultiplexer.Connect(_redis.ConnectionString);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var database = redis.GetDatabase();
        static string IdOf(string key) => key[(key.LastIndexOf(':') + 1)..];
        var keys = server.Keys(pattern: "*", pageSize: 1000).Count(k => persistenceIds.Contains(IdOf(k!)));
        var ids = database.SortedSetScan("jobs:{0}:ids", pageSize: 1000).Count(e => persistenceIds.Contains(e.Element!));
        var due = database.SortedSetScan("jobs:{0}:zset:expiry", pageSize: 1000).Count(e => persistenceIds.Contains(e.Element!));
        return new Leftover(keys, ids, due);
    }

    private sealed record Leftover(int Keys, int Ids, int Due);
}
