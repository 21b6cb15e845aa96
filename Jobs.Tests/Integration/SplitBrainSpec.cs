using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// The split-brain resolver (keep-majority) on a real multi-process cluster. A worker frozen with SIGSTOP is, to the
/// others, a node cut off by a partition: the majority downs it and runs its work, and when it wakes it finds itself
/// in the minority and stops rather than run a second copy of its shards.
/// </summary>
public sealed class SplitBrainSpec() : RedisClusterSpec(seeds: 1, workers: 2, "--concurrency", "2", "--prefetch", "2")
{
    [Fact]
    public async Task A_partitioned_minority_is_downed_and_stops_while_the_majority_runs_its_work_once()
    {
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
            ids.Add(await Cluster.SendAsync("tasks.sleep", new { args = new[] { 2 } }));
        for (var i = 0; i < 20; i++)
            ids.Add(await Cluster.SendAsync("tasks.add", new { args = new[] { i, i }, countdown = 4 }));
        var w1 = Cluster.Workers["w1"];
        var deadline = DateTime.UtcNow + Deadline;
        while (!await AnyStartedOnAsync("w1", ids))
        {
            Assert.True(DateTime.UtcNow < deadline, "no task started on w1");
            await Task.Delay(100);
        }

        w1.Freeze();
        try
        {
            // seed, w2 and api are the majority: the resolver downs w1 and the cluster goes on with three members.
            await Cluster.WaitForMembersUpAsync(3, Deadline);
            foreach (var id in ids)
                Assert.Equal("SUCCESS", (await Cluster.ResultAsync(id, Deadline))["state"]!.GetValue<string>());
        }
        finally
        {
            w1.Resume();
        }

        // The woken minority learns it was downed (or sees everyone unreachable and downs itself) and exits.
        Assert.True(await w1.WaitForExitAsync(Deadline), "the partitioned worker kept running after it was downed");
        await Cluster.WaitForMembersUpAsync(3, TimeSpan.FromSeconds(30));
        foreach (var id in ids)
            AssertSucceededOnce(id);
    }

    private async Task<bool> AnyStartedOnAsync(string worker, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            var (_, info) = await Cluster.Api!.GetAsync($"api/task/info/{id}");
            if (info?["state"]?.GetValue<string>() == "STARTED" && info["worker"]?.GetValue<string>() == worker)
                return true;
        }
        return false;
    }
}
