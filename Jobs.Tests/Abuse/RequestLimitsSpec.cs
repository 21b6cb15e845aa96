using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Jobs.Tests.Abuse;

/// <summary>
/// The HTTP facade's limits under abuse (set low on this node, see <see cref="AbuseNodeFixture"/>): long waits and
/// event streams are counted, oversized and slow requests are cut off, a flood of connections is answered or refused
/// cleanly, and the node serves normally afterwards.
/// </summary>
[Collection(AbuseNodeCollection.Name)]
public sealed class RequestLimitsSpec(AbuseNodeFixture fixture, ITestOutputHelper output)
{
    private StandaloneNode Node => fixture.Node;
    private HttpClient Http => fixture.Node.Node.Http!;

    [Fact]
    public async Task Waits_beyond_the_limit_are_answered_429_at_once_and_served_again_when_the_others_end()
    {
        using var holding = new CancellationTokenSource();
        using var client = new HttpClient { BaseAddress = Http.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var waits = Enumerable.Range(0, 4)
            .Select(i => client.GetAsync($"api/task/result/never-{Guid.NewGuid():N}?timeout=60", holding.Token)).ToArray();
        try
        {
            await UntilAsync(async () => (await Http.GetStringAsync("metrics")).Contains("\njobs_http_waiting_requests 4\n"),
                "the four waits never reached the node");
            var last = HttpStatusCode.OK;
            await UntilAsync(async () => (last = (await Http.GetAsync("api/task/result/probe?timeout=0.2")).StatusCode) == HttpStatusCode.TooManyRequests,
                () => $"a fifth wait was never refused: {last}; the four: {string.Join(", ", waits.Select(w => w.IsCompleted ? w.Result.StatusCode.ToString() : "waiting"))}");
            using var refused = await Http.GetAsync("api/task/result/probe?timeout=0.2");
            Assert.Contains("max-concurrent-waits", await refused.Content.ReadAsStringAsync());
            // Reading a result without waiting is never limited.
            Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("api/task/result/probe")).StatusCode);
        }
        finally
        {
            await holding.CancelAsync();
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(waits));
        await UntilAsync(async () => (await Http.GetAsync("api/task/result/probe?timeout=0.2")).StatusCode == HttpStatusCode.RequestTimeout,
            "waits were not served again after the others ended");
    }

    [Fact]
    public async Task Event_streams_beyond_the_limit_are_refused_and_a_closed_one_frees_its_place()
    {
        var streams = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var response = await Http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                streams.Add(response);
            }
            using (var refused = await Http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Contains("max-event-streams", await refused.Content.ReadAsStringAsync());
            }
            streams[0].Dispose();
            streams.RemoveAt(0);
            await UntilAsync(async () =>
            {
                var again = await Http.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
                if (again.StatusCode != HttpStatusCode.OK)
                {
                    again.Dispose();
                    return false;
                }
                streams.Add(again);
                return true;
            }, "a closed stream's place was never given again");
        }
        finally
        {
            foreach (var stream in streams)
                stream.Dispose();
        }
    }

    [Fact]
    public async Task Oversized_headers_request_lines_and_bodies_are_refused_with_their_status_on_every_operation()
    {
        using (var big = new HttpRequestMessage(HttpMethod.Get, "api/task/types"))
        {
            big.Headers.Add("X-Padding", new string('h', 40 * 1024));
            Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, (await Http.SendAsync(big)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.RequestUriTooLong, (await Http.GetAsync("api/tasks?search=" + new string('s', 10_000))).StatusCode);

        var document = JsonNode.Parse(await Http.GetStringAsync("openapi/v1.json"))!;
        var posts = document["paths"]!.AsObject()
            .Where(p => p.Value!.AsObject().ContainsKey("post"))
            .Select(p => System.Text.RegularExpressions.Regex.Replace(p.Key, "{[^}]+}", "x").TrimStart('/'))
            .ToArray();
        Assert.NotEmpty(posts);
        var body = new byte[2 * 1024 * 1024];
        foreach (var path in posts)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            // The refusal comes before the body is read; with 100-continue the client waits for it instead of sending 2 MiB into a closed connection.
            request.Headers.ExpectContinue = true;
            using var response = await Http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, $"POST /{path} with 2 MiB answered {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task A_request_whose_headers_never_finish_is_dropped_after_the_headers_timeout()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Node.HttpPort);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /healthcheck HTTP/1.1\r\nHost: 127.0.0.1:{Node.HttpPort}\r\nX-Slow: "));
        var clock = Stopwatch.StartNew();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = new byte[4096];
        int read;
        try
        {
            while ((read = await stream.ReadAsync(answer, cancel.Token)) > 0)
                Assert.StartsWith("HTTP/1.1 408", Encoding.ASCII.GetString(answer, 0, read));
        }
        catch (IOException)
        {
        }
        // The node's headers timeout is 2 s; Kestrel checks it once a second.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the slow request held its connection for {clock.Elapsed}");
    }

    [Fact]
    public async Task Two_thousand_concurrent_connections_are_answered_or_refused_cleanly_and_the_node_recovers()
    {
        const int connections = 2000;
        var clock = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => OneConnectionAsync()));
        var answered = outcomes.Count(o => o == "200");
        var refused = outcomes.Count(o => o == "closed");
        var other = outcomes.Where(o => o is not ("200" or "closed")).GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"{connections} connections in {clock.Elapsed.TotalSeconds:0.0} s: {answered} answered 200, {refused} closed by the node, others {string.Join(", ", other)}");
        Assert.Empty(other);
        Assert.True(answered > 0);

        var id = await Node.SendAsync("tasks.add", new { args = new[] { 2, 3 } });
        Assert.Equal(5, (await Node.ResultAsync(id, TimeSpan.FromSeconds(60)))["result"]!.GetValue<int>());
    }

    /// <summary>"200" when answered, "closed" when the node shut the connection without an answer (over its limit).</summary>
    private async Task<string> OneConnectionAsync()
    {
        using var client = new TcpClient();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, Node.HttpPort, cancel.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /healthcheck HTTP/1.1\r\nHost: 127.0.0.1:{Node.HttpPort}\r\nConnection: close\r\n\r\n"), cancel.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, cancel.Token);
            if (read == 0)
                return "closed";
            var status = Encoding.ASCII.GetString(buffer, 0, read);
            return status.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) ? "200" : status.Split("\r\n")[0];
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return "closed";
        }
        catch (OperationCanceledException)
        {
            return "hung for 60 s";
        }
    }

    private static Task UntilAsync(Func<Task<bool>> condition, string failure) => UntilAsync(condition, () => failure);

    private static async Task UntilAsync(Func<Task<bool>> condition, Func<string> failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure());
            await Task.Delay(100);
        }
    }
}
