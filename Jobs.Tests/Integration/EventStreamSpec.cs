using System.Text.RegularExpressions;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>The SSE stream's housekeeping on a real node: idle pings, and one subscriber per connection, gone on disconnect.</summary>
public sealed class EventStreamSpec : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly StandaloneNode _node = new("--config", "stream.conf");

    public async Task InitializeAsync()
    {
        // A short ping interval, so the spec need not wait Flower's 15 s.
        await File.WriteAllTextAsync(Path.Combine(_node.WorkDir, "stream.conf"), "jobs.monitor.stream.ping-interval = 300ms\n");
        await _node.StartAsync();
    }

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    private async Task<(HttpClient Client, HttpResponseMessage Response, StreamReader Reader)> ConnectAsync()
    {
        var client = new HttpClient { BaseAddress = _node.Node.Http!.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var response = await client.GetAsync("api/events", HttpCompletionOption.ResponseHeadersRead);
        return (client, response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    private async Task<int> StreamsAsync(int expected)
    {
        var deadline = DateTime.UtcNow + Deadline;
        var count = -1;
        while (DateTime.UtcNow < deadline)
        {
            var text = await _node.Node.Http!.GetStringAsync("metrics");
            count = int.Parse(Regex.Match(text, @"^jobs_event_streams (\d+)$", RegexOptions.Multiline).Groups[1].Value);
            if (count == expected)
                return count;
            await Task.Delay(100);
        }
        return count;
    }

    [Fact]
    public async Task An_idle_stream_is_pinged_and_a_closed_one_is_unsubscribed()
    {
        var (firstClient, firstResponse, first) = await ConnectAsync();
        var (secondClient, secondResponse, second) = await ConnectAsync();
        Assert.Equal(2, await StreamsAsync(2));

        using var cancel = new CancellationTokenSource(Deadline);
        string? line;
        do
            line = await first.ReadLineAsync(cancel.Token);
        while (line != ": ping" && line is not null);
        Assert.Equal(": ping", line);

        first.Dispose();
        firstResponse.Dispose();
        firstClient.Dispose();
        Assert.Equal(1, await StreamsAsync(1));
        second.Dispose();
        secondResponse.Dispose();
        secondClient.Dispose();
        Assert.Equal(0, await StreamsAsync(0));
    }
}
