using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// What Celery users fear most, on a real multi-process cluster: a worker killed mid-task, a graceful stop,
/// and the whole cluster restarted from the same Redis. Each case asserts one terminal event per task, read
/// from the journal in Redis.
/// </summary>
public sealed class ClusterFaultSpec : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);
    private readonly RedisServer _redis = new();
    private ClusterProcesses _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = new ClusterProcesses(_redis.ConnectionString);
        await _cluster.StartAllAsync(2, "--concurrency", "2", "--prefetch", "2");
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _redis.Dispose();
    }

    private void AssertOneTerminalEvent(string taskId)
    {
        var events = RedisJournalReader.Manifests(_redis, taskId);
        Assert.Single(events, e => e is "TaskSucceeded" or "TaskFailed" or "TaskRevoked");
        Assert.Equal("TaskSucceeded", events[^1]);
    }

    private async Task<Dictionary<string, string>> StatesAsync(IEnumerable<string> ids)
    {
        var states = new Dictionary<string, string>();
        foreach (var id in ids)
        {
            var (_, info) = await _cluster.Api!.GetAsync($"api/task/info/{id}");
            states[id] = info?["state"]?.GetValue<string>() + "@" + info?["worker"]?.GetValue<string>();
        }
        return states;
    }

    [Fact]
    public async Task A_worker_killed_mid_task_costs_nothing_and_every_result_is_recorded_once()
    {
        var sleeping = new List<string>();
        for (var i = 0; i < 8; i++)
            sleeping.Add(await _cluster.SendAsync("tasks.sleep", new { args = new[] { 3 } }));
        var waiting = new List<string>();
        for (var i = 0; i < 8; i++)
            waiting.Add(await _cluster.SendAsync("tasks.add", new { args = new[] { i, 1 }, countdown = 6 }));

        var deadline = DateTime.UtcNow + Deadline;
        while (!(await StatesAsync(sleeping)).Values.Any(s => s == "STARTED@w1"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no task started on w1");
            await Task.Delay(100);
        }
        await _cluster.Workers["w1"].KillAsync();

        foreach (var id in sleeping)
        {
            Assert.Equal("SUCCESS", (await _cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
            AssertOneTerminalEvent(id);
        }
        for (var i = 0; i < waiting.Count; i++)
        {
            Assert.Equal(i + 1, (await _cluster.ResultAsync(waiting[i], Deadline))["result"]!.GetValue<int>());
            Assert.Equal("w2", await _cluster.WorkerOfAsync(waiting[i]));
            AssertOneTerminalEvent(waiting[i]);
        }
    }

    [Fact]
    public async Task A_gracefully_stopped_worker_finishes_its_running_tasks_and_nothing_runs_twice()
    {
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
            ids.Add(await _cluster.SendAsync("tasks.sleep", new { args = new[] { 3 } }));
        var deadline = DateTime.UtcNow + Deadline;
        Dictionary<string, string> states;
        while (!(states = await StatesAsync(ids)).Values.Any(s => s == "STARTED@w1"))
        {
            Assert.True(DateTime.UtcNow < deadline, "no task started on w1");
            await Task.Delay(100);
        }
        var runningOnW1 = states.Where(s => s.Value == "STARTED@w1").Select(s => s.Key).ToArray();

        Assert.Equal(0, await _cluster.Workers["w1"].TerminateAsync(TimeSpan.FromSeconds(60)));

        foreach (var id in ids)
        {
            Assert.Equal("SUCCESS", (await _cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
            AssertOneTerminalEvent(id);
        }
        foreach (var id in runningOnW1)
            Assert.Equal("w1", await _cluster.WorkerOfAsync(id));
        Assert.True(_cluster.Workers["w1"].HasExited);
        await _cluster.WaitForMembersUpAsync(3, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_whole_cluster_restarted_from_the_same_redis_runs_what_it_had_accepted()
    {
        var before = await _cluster.SendAsync("tasks.add", new { args = new[] { 1, 1 } });
        Assert.Equal(2, (await _cluster.ResultAsync(before, Deadline))["result"]!.GetValue<int>());
        var waiting = new List<string>();
        for (var i = 0; i < 6; i++)
            waiting.Add(await _cluster.SendAsync("tasks.add", new { args = new[] { i, 10 }, countdown = 5 }));

        await _cluster.DisposeAsync();
        _cluster = new ClusterProcesses(_redis.ConnectionString);
        await _cluster.StartAllAsync(2, "--concurrency", "2");

        for (var i = 0; i < waiting.Count; i++)
        {
            Assert.Equal(i + 10, (await _cluster.ResultAsync(waiting[i], Deadline))["result"]!.GetValue<int>());
            AssertOneTerminalEvent(waiting[i]);
        }
        Assert.Equal(2, (await _cluster.ResultAsync(before, Deadline))["result"]!.GetValue<int>());
        AssertOneTerminalEvent(before);
    }
}
