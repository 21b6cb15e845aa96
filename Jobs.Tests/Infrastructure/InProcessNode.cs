using Akka.Configuration;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;

namespace Jobs.Tests.Infrastructure;

/// <summary>A standalone node (worker and api roles, the example tasks) in this process, on its own temp SQLite journal.</summary>
public sealed class InProcessNode : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly string _data;

    private InProcessNode(string data, JobsNode node)
    {
        _data = data;
        Node = node;
    }

    public JobsNode Node { get; }

    public static async Task<InProcessNode> StartAsync(string prefix)
    {
        var data = Directory.CreateTempSubdirectory(prefix).FullName;
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
            .WithFallback(NodeOptions.Parse(["--standalone", "--port", "0", "--data", Path.Combine(data, "jobs.db")]).ToConfig(["worker", "api"], 0));
        return new InProcessNode(data, await JobsNode.StartAsync(config, TaskRegistry.FromAssemblies([typeof(Jobs.Node.Tasks).Assembly]), Deadline));
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}
