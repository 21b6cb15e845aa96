using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

public sealed class MonitorStartSpec
{
    [Fact]
    public async Task A_task_index_path_that_cannot_be_opened_stops_the_node_at_start_with_its_reason()
    {
        var dir = Path.Combine(Path.GetTempPath(), "jobs-monitor-start-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        // A file where the index's directory should be: the index cannot be created under it.
        await File.WriteAllTextAsync(Path.Combine(dir, "blocker"), "");
        await File.WriteAllTextAsync(Path.Combine(dir, "bad.conf"), "jobs.monitor.index-path = \"blocker/monitor.db\"\n");
        await using var node = NodeProcess.Start("Jobs.Node",
            ["--standalone", "--port", FreePort.Next().ToString(), "--http", $"127.0.0.1:{FreePort.Next()}", "--cmd-port", FreePort.Next().ToString(),
             "--config", "bad.conf"], dir, null);
        var line = await node.WaitForOutputAsync(l => l.Contains("error: jobs.monitor.index-path"), TimeSpan.FromSeconds(60));
        Assert.Contains("blocker", line);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!node.HasExited && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.True(node.HasExited, "the node kept running without its monitor");
        Assert.Equal(2, await node.TerminateAsync(TimeSpan.FromSeconds(5)));
        Directory.Delete(dir, recursive: true);
    }
}
