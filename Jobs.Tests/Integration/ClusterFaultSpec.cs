using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// What Celery users fear most, on a real multi-process cluster: a worker killed mid-task, a graceful stop,
/// and the whole cluster restarted from the same Redis. Each case asserts one terminal event per task, read
/// from the journal in Redis.
/// </summary>
public sealed class ClusterFaultSpec() : RedisClusterSpec(seeds: 1, workers: 2, "--concurrency", "2", "--prefetch", "2")
{
    private async Task<Dictionary<string, string>> StatesAsync(IEnumerable<string> ids)
    {
        var states = new Dictionary<string, string>();
        foreach (var id in ids)
        {
            var (_, info) = await Cluster.Api!.GetAsync($"api/task/info/{id}");
            states[id] = info?["state"]?.GetValue<string>() + "@" + info?["worker"]?.GetValue<string>();
        }
        return states;
    }

    [Fact]
    public async Task A_worker_killed_mid_task_costs_nothing_and_every_result_is_recorded_once()
    {
        var sleeping = new List<string>();
        for (var i = 0; i < 8; i++)
            sleeping.Add(await Cluster.SendAsync("tasks.sleep", new { args = new[] { 3 } }));
        var waiting = new List<string>();
        for (var i = 0; i < 8; i++)
            waiting.Add(await Cluster.SendAsync("tasks.add", new { args = new[] { i, 1 }, countdown = 15 }));

        var deadline = DateTime.UtcNow + Deadline;
        while (!(await StatesAsync(sleeping)).Values.Any(s => s == "STARTED@w1"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no task started on w1");
            await Task.Delay(100);
        }
        await Cluster.Workers["w1"].KillAsync();

        foreach (var id in sleeping)
        {
            Assert.Equal("SUCCESS", (await Cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
            AssertSucceededOnce(id);
        }
        for (var i = 0; i < waiting.Count; i++)
        {
            Assert.Equal(i + 1, (await Cluster.ResultAsync(waiting[i], Deadline))["result"]!.GetValue<int>());
            Assert.Equal("w2", await Cluster.WorkerOfAsync(waiting[i]));
            AssertSucceededOnce(waiting[i]);
        }
    }

    [Fact]
    public async Task A_gracefully_stopped_worker_finishes_its_running_tasks_and_nothing_runs_twice()
    {
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
            ids.Add(await Cluster.SendAsync("tasks.sleep", new { args = new[] { 3 } }));
        var deadline = DateTime.UtcNow + Deadline;
        Dictionary<string, string> states;
        while (!(states = await StatesAsync(ids)).Values.Any(s => s == "STARTED@w1"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no task started on w1");
            await Task.Delay(100);
        }
        var runningOnW1 = states.Where(s => s.Value == "STARTED@w1").Select(s => s.Key).ToArray();

        Assert.Equal(0, await Cluster.Workers["w1"].TerminateAsync(TimeSpan.FromSeconds(60)));

        foreach (var id in ids)
        {
            Assert.Equal("SUCCESS", (await Cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
            AssertSucceededOnce(id);
        }
        foreach (var id in runningOnW1)
            Assert.Equal("w1", await Cluster.WorkerOfAsync(id));
        Assert.True(Cluster.Workers["w1"].HasExited);
        await Cluster.WaitForMembersUpAsync(3, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_wholeCluster_restarted_from_the_sameRedis_runs_what_it_had_accepted()
    {
        var before = await Cluster.SendAsync("tasks.add", new { args = new[] { 1, 1 } });
        Assert.Equal(2, (await Cluster.ResultAsync(before, Deadline))["result"]!.GetValue<int>());
        var waiting = new List<string>();
        for (var i = 0; i < 6; i++)
            waiting.Add(await Cluster.SendAsync("tasks.add", new { args = new[] { i, 10 }, countdown = 5 }));

        await Cluster.DisposeAsync();
        Cluster = new ClusterProcesses(Redis.ConnectionString);
        await Cluster.StartAllAsync(2, "--concurrency", "2");

        for (var i = 0; i < waiting.Count; i++)
        {
            Assert.Equal(i + 10, (await Cluster.ResultAsync(waiting[i], Deadline))["result"]!.GetValue<int>());
            AssertSucceededOnce(waiting[i]);
        }
        Assert.Equal(2, (await Cluster.ResultAsync(before, Deadline))["result"]!.GetValue<int>());
        AssertSucceededOnce(before);
    }
}
