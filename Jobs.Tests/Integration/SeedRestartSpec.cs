using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>A seed killed and restarted rejoins through the other seed; workers that join later still find the cluster.</summary>
public sealed class SeedRestartSpec : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);
    private readonly RedisServer _redis = new();
    private ClusterProcesses _cluster = null!;

    public async Task InitializeAsync()
    {
        _cluster = new ClusterProcesses(_redis.ConnectionString);
        await _cluster.StartAllAsync(seeds: 2, workers: 1, "--concurrency", "2");
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        _redis.Dispose();
    }

    [Fact]
    public async Task A_restarted_seed_rejoins_and_a_late_worker_joins_through_it()
    {
        await _cluster.Seeds[0]!.KillAsync();
        await _cluster.WaitForMembersUpAsync(3, Deadline);
        var during = await _cluster.SendAsync("tasks.add", new { args = new[] { 2, 2 } });
        Assert.Equal(4, (await _cluster.ResultAsync(during, Deadline))["result"]!.GetValue<int>());

        _cluster.StartSeed(0);
        await _cluster.WaitForMembersUpAsync(4, Deadline);
        await _cluster.Seeds[1]!.KillAsync();
        await _cluster.WaitForMembersUpAsync(3, Deadline);

        _cluster.Workers["w2"] = _cluster.StartWorker("w2", "--concurrency", "2");
        await _cluster.WaitForMembersUpAsync(4, Deadline);
        // The late worker registers with the queue moments after it is Up; keep sending until it takes work.
        var deadline = DateTime.UtcNow + Deadline;
        var workers = new HashSet<string>();
        while (!workers.Contains("w2"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"w2 ran no task; workers seen: {string.Join(",", workers)}");
            var batch = new List<string>();
            for (var i = 0; i < 10; i++)
                batch.Add(await _cluster.SendAsync("tasks.sleep", new { args = new[] { 0.05 } }));
            foreach (var id in batch)
            {
                await _cluster.ResultAsync(id, Deadline);
                workers.Add(await _cluster.WorkerOfAsync(id));
            }
        }
    }
}
