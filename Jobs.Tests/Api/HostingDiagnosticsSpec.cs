using Jobs.Api;
using Jobs.Tests.Infrastructure;
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
    private InProcessNode _host = null!;

    public async Task InitializeAsync() => _host = await InProcessNode.StartAsync("jobs-hosting-");

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Request_diagnostics_are_off_at_every_level_and_warnings_still_print()
    {
        await using var app = JobsWebApp.Build(_host.Node);
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Critical));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger(typeof(JobsWebApp).FullName!).IsEnabled(LogLevel.Warning));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Information));
    }
}
