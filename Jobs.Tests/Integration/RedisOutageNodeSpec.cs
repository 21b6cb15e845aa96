using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// A node whose Redis goes away keeps running: submissions are refused with 503, the reason and the task id, never
/// acknowledged; when Redis returns, new work is accepted again without a restart and earlier results are intact.
/// </summary>
public sealed class RedisOutageNodeSpec : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly RedisServer _redis = new();
    private readonly StandaloneNode _node;

    public RedisOutageNodeSpec()
    {
        _node = new StandaloneNode("--journal", "redis", "--redis", _redis.ConnectionString);
    }

    public Task InitializeAsync() => _node.StartAsync();

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        _redis.Dispose();
    }

    [Fact]
    public async Task Submissions_are_refused_with_503_while_redis_is_down_and_accepted_again_after()
    {
        var before = await _node.SendAsync("tasks.add", new { args = new[] { 1, 2 } });
        Assert.Equal(3, (await _node.ResultAsync(before, Deadline))["result"]!.GetValue<int>());

        _redis.Kill();
        await UntilTheNodeKnowsRedisIsGoneAsync();
        var (status, body) = await _node.Node.PostAsync("api/task/async-apply/tasks.add", new { args = new[] { 5, 5 }, task_id = "during-outage" });
        Assert.Equal(503, status);
        Assert.Equal("not-accepted", body!["outcome"]!.GetValue<string>());
        Assert.Equal("during-outage", body["task-id"]!.GetValue<string>());
        Assert.Contains("not accepted", body["error"]!.GetValue<string>());
        Assert.False(_node.Node.HasExited);

        _redis.Start();
        var deadline = DateTime.UtcNow + Deadline;
        string? after = null;
        while (after is null)
        {
            var (retryStatus, retryBody) = await _node.Node.PostAsync("api/task/async-apply/tasks.add", new { args = new[] { 20, 22 } });
            if (retryStatus == 200)
                after = retryBody!["task-id"]!.GetValue<string>();
            else if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"still {retryStatus} {retryBody} after Redis came back");
            else
                await Task.Delay(250);
        }
        Assert.Equal(42, (await _node.ResultAsync(after, Deadline))["result"]!.GetValue<int>());
        Assert.Equal(3, (await _node.ResultAsync(before, Deadline))["result"]!.GetValue<int>());
        var (_, refused) = await _node.Node.GetAsync("api/task/result/during-outage");
        Assert.Equal("PENDING", refused!["state"]!.GetValue<string>());
    }

    /// <summary>
    /// Right after the kill the node may not have noticed yet: a submission then reaches the task's shard, whose write
    /// fails or never answers, and the node cannot tell whether it was stored. Those answers must say so, with the
    /// id; once the connection is known to be down, submissions are refused before anything is sent.
    /// </summary>
    private async Task UntilTheNodeKnowsRedisIsGoneAsync()
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var probe = "probe-" + Guid.NewGuid().ToString("N")[..8];
            var (status, body) = await _node.Node.PostAsync("api/task/async-apply/tasks.add", new { args = new[] { 1, 1 }, task_id = probe });
            Assert.Equal(503, status);
            Assert.Equal(probe, body!["task-id"]!.GetValue<string>());
            var outcome = body["outcome"]!.GetValue<string>();
            if (outcome == "not-accepted")
                return;
            Assert.Equal("unknown", outcome);
            Assert.Contains("may or may not have been accepted", body["error"]!.GetValue<string>());
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the node still answers {body} long after Redis went away");
        }
    }
}
