using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// A spec on a real multi-process cluster sharing one Redis journal: seeds, workers w1…wN and the api node are started
/// before each test and stopped by PID after it, with Redis.
/// </summary>
public abstract class RedisClusterSpec(int seeds, int workers, params string[] workerArgs) : IAsyncLifetime
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    protected RedisServer Redis { get; } = new();

    /// <summary>Replaceable, so a spec can stop the whole cluster and start a new one on the same Redis.</summary>
    protected ClusterProcesses Cluster { get; set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = new ClusterProcesses(Redis.ConnectionString);
        await Cluster.StartAllAsync(seeds, workers, workerArgs);
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Redis.Dispose();
    }

    /// <summary>Exactly one terminal event in the task's journal, and it is TaskSucceeded.</summary>
    protected void AssertSucceededOnce(string taskId)
    {
        var events = RedisJournalReader.Manifests(Redis, taskId);
        Assert.Single(events, e => e is "TaskSucceeded" or "TaskFailed" or "TaskRevoked");
        Assert.Equal("TaskSucceeded", events[^1]);
    }
}
