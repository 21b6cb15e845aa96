using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Abuse;

/// <summary>
/// The command host against what is not its protocol: an HTTP request a web page makes the browser send (its body
/// line a valid command), junk, an endless line, more connections than it serves. Nothing of it runs, and the host
/// goes on serving real clients.
/// </summary>
[Collection(AbuseNodeCollection.Name)]
public sealed class CommandHostAbuseSpec(AbuseNodeFixture fixture)
{
    private StandaloneNode Node => fixture.Node;

    private const string GrowPool = """{"v":2,"palette":"control","command":"pool","args":["grow","3"]}""";

    [Fact]
    public async Task A_raw_http_post_whose_body_is_a_valid_command_line_does_not_run_it()
    {
        var before = await ConcurrencyAsync();
        var body = "\n" + GrowPool + "\n";
        var request = $"POST / HTTP/1.1\r\nHost: 127.0.0.1:{Node.CmdPort}\r\nContent-Type: text/plain\r\n" +
                      $"Origin: http://evil.example\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";
        using var client = await ConnectAsync();
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request));
        // Closed unanswered: an HTTP line is never given a reply a page could take for an answer.
        Assert.Equal("", await ReadToEndAsync(stream));

        Assert.Equal(before, await ConcurrencyAsync());
    }

    [Fact]
    public async Task A_line_that_is_not_a_request_is_answered_once_and_closes_the_connection_so_later_lines_never_run()
    {
        var before = await ConcurrencyAsync();
        using var client = await ConnectAsync();
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes("hello there\n" + GrowPool + "\n"));
        var lines = (await ReadToEndAsync(stream)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var reply = JsonNode.Parse(Assert.Single(lines))!;
        Assert.False(reply["ok"]!.GetValue<bool>());
        Assert.Contains("connection closes", reply["error"]!.GetValue<string>());
        Assert.Equal(before, await ConcurrencyAsync());
    }

    [Fact]
    public async Task An_endless_line_is_cut_off_at_the_bound_and_the_host_keeps_serving()
    {
        using (var client = await ConnectAsync())
        {
            var stream = client.GetStream();
            var chunk = Encoding.UTF8.GetBytes(new string('x', 16 * 1024));
            var written = 0;
            try
            {
                // Four times the node's bound (64 KiB here), never a newline.
                for (; written < 16; written++)
                    await stream.WriteAsync(chunk);
            }
            catch (IOException)
            {
                // The host may close before everything is written: that is the point.
            }
            var answer = await ReadToEndAsync(stream);
            Assert.Contains("max-line-length", answer);
        }
        Assert.True(await ConcurrencyAsync() > 0);
    }

    [Fact]
    public async Task Connections_beyond_the_cap_are_refused_and_served_again_once_others_close()
    {
        var held = new List<TcpClient>();
        try
        {
            // The node serves 8 at once (AbuseNodeFixture); each of these is answered, so it is being served.
            for (var i = 0; i < 8; i++)
            {
                var client = await ConnectAsync();
                held.Add(client);
                Assert.True((await AskAsync(client, """{"v":2,"palette":"tasks","command":"ping"}"""))["ok"]!.GetValue<bool>());
            }
            using (var extra = await ConnectAsync())
            {
                var refusal = await ReadToEndAsync(extra.GetStream());
                Assert.Contains("max-connections", refusal);
            }
        }
        finally
        {
            foreach (var client in held)
                client.Dispose();
        }
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            using var client = await ConnectAsync();
            var reply = await AskAsync(client, """{"v":2,"palette":"tasks","command":"ping"}""");
            if (reply["ok"]!.GetValue<bool>())
                break;
            Assert.True(DateTime.UtcNow < deadline, $"the host still refuses after its connections closed: {reply}");
            await Task.Delay(100);
        }
    }

    private async Task<TcpClient> ConnectAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Node.CmdPort);
        client.ReceiveTimeout = 30_000;
        return client;
    }

    private static async Task<JsonNode> AskAsync(TcpClient client, string line)
    {
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
        var reply = new List<byte>();
        var buffer = new byte[1];
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await stream.ReadAsync(buffer, cancel.Token) == 1 && buffer[0] != '\n')
            reply.Add(buffer[0]);
        return JsonNode.Parse(Encoding.UTF8.GetString(reply.ToArray()))!;
    }

    /// <summary>Everything the host sends until it closes the connection (fails if it does not within 30 s).</summary>
    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var text = new StringBuilder();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancel.Token)) > 0)
                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
        catch (IOException)
        {
            // A reset after the host closed with unread input still counts as closed.
        }
        return text.ToString();
    }

    private async Task<int> ConcurrencyAsync()
    {
        using var client = await ConnectAsync();
        var reply = await AskAsync(client, """{"v":2,"palette":"tasks","command":"stats"}""");
        return reply["result"]!.AsObject().Single().Value!["concurrency"]!.GetValue<int>();
    }
}
