using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>Redis, a seed, two workers (w1, w2) and an api node, each its own process, shared by one spec class.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public RedisServer Redis { get; } = new();

    public ClusterProcesses Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = new ClusterProcesses(Redis.ConnectionString);
        await Cluster.StartAllAsync(2, "--concurrency", "2");
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Redis.Dispose();
    }
}
