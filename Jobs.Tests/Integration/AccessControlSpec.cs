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
    public async Task A_node_refuses_remoting_beyond_loopback_without_tls_and_serves_it_when_told_insecure()
    {
        var address = MachineAddress();
        await using (var refused = NodeProcess.Start("Jobs.Node", ["--standalone", "--host", address, "--port", "0", "--http", $"127.0.0.1:{FreePort.Next()}"],
                         Path.Combine(Path.GetTempPath(), "jobs-auth-" + Guid.NewGuid().ToString("N")[..8]), null))
        {
            await refused.WaitForOutputAsync(l => l.Contains($"refusing to serve remoting on '{address}' without TLS") && l.Contains("--insecure"), TimeSpan.FromSeconds(30));
            Assert.True(await refused.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        var httpPort = FreePort.Next();
        await using var insecure = NodeProcess.Start("Jobs.Node",
            ["--standalone", "--host", address, "--port", FreePort.Next().ToString(), "--http", $"127.0.0.1:{httpPort}", "--cmd-port", "0", "--insecure"],
            Path.Combine(Path.GetTempPath(), "jobs-auth-" + Guid.NewGuid().ToString("N")[..8]), $"127.0.0.1:{httpPort}");
        await insecure.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        await insecure.WaitForOutputAsync(l => l.Contains($"warning: --insecure: serving remoting on '{address}' without TLS"), TimeSpan.FromSeconds(10));
        var (_, cluster) = await insecure.GetAsync("api/cluster");
        Assert.Contains(address, cluster!.ToJsonString());
    }

    /// <summary>
    /// Walks the node's own OpenAPI document, so an endpoint added later is checked too: every operation but the health
    /// check answers 401 without the token or with a wrong one (the event stream's ?token= included), and none with it.
    /// </summary>
    [Fact]
    public async Task Every_operation_of_the_openapi_document_but_the_health_check_needs_the_token_which_is_never_logged()
    {
        var httpPort = FreePort.Next();
        await using var node = NodeProcess.Start("Jobs.Node",
            ["--standalone", "--port", "0", "--http", $"127.0.0.1:{httpPort}", "--cmd-port", "0", "--auth-token", Token],
            Path.Combine(Path.GetTempPath(), "jobs-auth-" + Guid.NewGuid().ToString("N")[..8]), $"127.0.0.1:{httpPort}");
        await node.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        using var documentRequest = new HttpRequestMessage(HttpMethod.Get, "openapi/v1.json");
        documentRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var documentResponse = await node.Http!.SendAsync(documentRequest);
        var document = System.Text.Json.Nodes.JsonNode.Parse(await documentResponse.Content.ReadAsStringAsync())!;
        var checkedOperations = 0;
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, _) in item!.AsObject())
            {
                var uri = System.Text.RegularExpressions.Regex.Replace(path, "{[^}]+}", "x").TrimStart('/');
                var expected = path == "/healthcheck" ? HttpStatusCode.OK : HttpStatusCode.Unauthorized;
                foreach (var authorization in new[] { null, "Bearer not-the-token", "Basic " + Token, Token })
                {
                    using var request = Request(method, uri, authorization);
                    using var response = await node.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    Assert.True(expected == response.StatusCode, $"{method.ToUpperInvariant()} {path} with '{authorization}' answered {(int)response.StatusCode}");
                }
                using (var wrongQuery = Request(method, uri + "?token=not-the-token", null))
                using (var response = await node.Http.SendAsync(wrongQuery, HttpCompletionOption.ResponseHeadersRead))
                    Assert.Equal(expected, response.StatusCode);
                using (var right = Request(method, uri, "bearer " + Token))
                using (var response = await node.Http.SendAsync(right, HttpCompletionOption.ResponseHeadersRead))
                    Assert.NotEqual(HttpStatusCode.Unauthorized, response.StatusCode);
                checkedOperations++;
            }
        }
        Assert.True(checkedOperations >= 27, $"only {checkedOperations} operations in the document");
        using (var events = await node.Http.GetAsync($"api/events?token={Token}", HttpCompletionOption.ResponseHeadersRead))
            Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        Assert.DoesNotContain(Token, node.OutputText);
    }

    private static HttpRequestMessage Request(string method, string uri, string? authorization)
    {
        var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), uri);
        if (authorization is not null)
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        if (request.Method == HttpMethod.Post)
            request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        return request;
    }

    /// <summary>This machine's first IPv4 address that is not loopback: where a node beyond loopback would bind.</summary>
    private static string MachineAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .ToString();

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
