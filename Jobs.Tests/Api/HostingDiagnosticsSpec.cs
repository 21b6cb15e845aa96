using Akka.Configuration;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Api;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Jobs.Tests.Api;

/// <summary>
/// The web host's logging: ASP.NET Core starts an Activity and a log scope for every request while the logger of its
/// request diagnostics is enabled at any level, so that logger is off; the node's own warnings still print.
/// </summary>
public sealed class HostingDiagnosticsSpec : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly string _data = Directory.CreateTempSubdirectory("jobs-hosting-").FullName;
    private JobsNode _node = null!;

    public async Task InitializeAsync()
    {
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING")
            .WithFallback(NodeOptions.Parse(["--standalone", "--port", "0", "--data", Path.Combine(_data, "jobs.db")]).ToConfig(["worker", "api"], 0));
        _node = await JobsNode.StartAsync(config, TaskRegistry.FromAssemblies([typeof(Jobs.Node.Tasks).Assembly]), Deadline);
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task Request_diagnostics_are_off_at_every_level_and_warnings_still_print()
    {
        await using var app = JobsWebApp.Build(_node);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Critical));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger(typeof(JobsWebApp).FullName!).IsEnabled(LogLevel.Warning));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Information));
    }
}
