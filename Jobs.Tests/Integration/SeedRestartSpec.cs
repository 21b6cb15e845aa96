using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>A seed killed and restarted rejoins through the other seed; workers that join later still find the cluster.</summary>
public sealed class SeedRestartSpec() : RedisClusterSpec(seeds: 2, workers: 1, "--concurrency", "2")
{
    [Fact]
    public async Task A_restarted_seed_rejoins_and_a_late_worker_joins_through_it()
    {
        await Cluster.Seeds[0]!.KillAsync();
        await Cluster.WaitForMembersUpAsync(3, Deadline);
        var during = await Cluster.SendAsync("tasks.add", new { args = new[] { 2, 2 } });
        Assert.Equal(4, (await Cluster.ResultAsync(during, Deadline))["result"]!.GetValue<int>());

        Cluster.StartSeed(0);
        await Cluster.WaitForMembersUpAsync(4, Deadline);
        await Cluster.Seeds[1]!.KillAsync();
        await Cluster.WaitForMembersUpAsync(3, Deadline);

        Cluster.Workers["w2"] = Cluster.StartWorker("w2", "--concurrency", "2");
        await Cluster.WaitForMembersUpAsync(4, Deadline);
        // The late worker registers with the queue moments after it is Up; keep sending until it takes work.
        var deadline = DateTime.UtcNow + Deadline;
        var workers = new HashSet<string>();
        while (!workers.Contains("w2"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"w2 ran no task; workers seen: {string.Join(",", workers)}");
            var batch = new List<string>();
            for (var i = 0; i < 10; i++)
                batch.Add(await Cluster.SendAsync("tasks.sleep", new { args = new[] { 0.05 } }));
            foreach (var id in batch)
            {
                await Cluster.ResultAsync(id, Deadline);
                workers.Add(await Cluster.WorkerOfAsync(id));
            }
        }
    }
}
