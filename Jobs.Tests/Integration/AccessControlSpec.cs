using System.Net;
using System.Net.Http.Headers;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>Beyond loopback the HTTP facade needs a token; requests without the right one are refused, and it is never logged.</summary>
public sealed class AccessControlSpec
{
    private const string Token = "s3cret-token-4f9a";

    [Fact]
    public async Task A_node_refuses_to_serve_http_beyond_loopback_without_a_token()
    {
        var port = FreePort.Next();
        await using var node = NodeProcess.Start("Jobs.Node", ["--standalone", "--port", "0", "--http", $"0.0.0.0:{port}"],
            Path.Combine(Path.GetTempPath(), "jobs-auth-" + Guid.NewGuid().ToString("N")[..8]), null);
        await node.WaitForOutputAsync(l => l.Contains("refusing to serve HTTP"), TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!node.HasExited && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(node.HasExited);
    }

    [Fact]
    public async Task A_node_refuses_to_serve_commands_beyond_loopback_without_a_token()
    {
        await using var node = NodeProcess.Start("Jobs.Node", ["--standalone", "--port", "0", "--http", $"127.0.0.1:{FreePort.Next()}", "--cmd-host", "0.0.0.0"],
            Path.Combine(Path.GetTempPath(), "jobs-auth-" + Guid.NewGuid().ToString("N")[..8]), null);
        await node.WaitForOutputAsync(l => l.Contains("refusing to serve commands on 0.0.0.0 without --auth-token"), TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!node.HasExited && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.True(node.HasExited);
    }

    [Fact]
    public async Task Requests_without_the_right_token_are_refused_and_the_token_never_appears_in_the_log()
    {
        var workDir = Path.Combine(Path.GetTempPath(), "jobs-auth-" + Guid.NewGuid().ToString("N")[..8]);
        var httpPort = FreePort.Next();
        var cmdPort = FreePort.Next();
        await using var node = NodeProcess.Start("Jobs.Node",
            ["--standalone", "--port", "0", "--http", $"0.0.0.0:{httpPort}", "--cmd-host", "0.0.0.0", "--cmd-port", cmdPort.ToString(), "--auth-token", Token],
            workDir, $"127.0.0.1:{httpPort}");
        await node.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(HttpStatusCode.Unauthorized, (await node.Http!.GetAsync("api/task/types")).StatusCode);
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "api/task/types"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
            Assert.Equal(HttpStatusCode.Unauthorized, (await node.Http.SendAsync(wrong)).StatusCode);
        }
        using (var right = new HttpRequestMessage(HttpMethod.Get, "api/task/types"))
        {
            right.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            Assert.Equal(HttpStatusCode.OK, (await node.Http.SendAsync(right)).StatusCode);
        }

        await node.WaitForOutputAsync(l => l.Contains($"commands: 0.0.0.0:{cmdPort}"), TimeSpan.FromSeconds(10));
        var (refused, _, refusal) = await CliProcess.RunAsync(null, $"127.0.0.1:{cmdPort}", "cluster", "show");
        Assert.Equal(1, refused);
        Assert.Contains("refused: missing or wrong token", refusal);
        Assert.Equal(1, (await CliProcess.RunAsync(null, $"127.0.0.1:{cmdPort}", "log", "tail", "--token", "not-the-token")).Exit);
        Assert.Equal(0, (await CliProcess.RunAsync(null, $"127.0.0.1:{cmdPort}", "cluster", "show", "--token", Token)).Exit);
        var (peeked, log, _) = await CliProcess.RunAsync(null, $"127.0.0.1:{cmdPort}", "log", "peek", "2000", "--token", Token);
        Assert.Equal(0, peeked);
        Assert.DoesNotContain(Token, log);
        Assert.DoesNotContain(Token, node.OutputText);
    }
}
