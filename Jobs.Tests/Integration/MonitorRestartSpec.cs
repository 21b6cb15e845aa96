using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// The task index is rebuilt from the journal, not from memory: a node killed with SIGKILL, its index file deleted,
/// lists its earlier tasks again once restarted; one restarted with its index keeps it and catches up from its offset;
/// one whose index file is garbage replaces it.
/// </summary>
public abstract class MonitorRestartSpec(StandaloneNode node) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly StandaloneNode _node = node;

    public Task InitializeAsync() => _node.StartAsync();

    public virtual Task DisposeAsync() => _node.DisposeAsync().AsTask();

    private string IndexPath => Path.Combine(_node.WorkDir, "data", "monitor.db");

    [Fact]
    public async Task After_kill_9_and_a_deleted_index_the_earlier_tasks_are_listed_again_from_the_journal()
    {
        var added = await _node.SendAsync("tasks.add", new { args = new[] { 2, 2 } });
        var failed = await _node.SendAsync("tasks.fail", new { args = new[] { "restart-boom" } });
        var later = await _node.SendAsync("tasks.add", new { args = new[] { 5, 5 }, countdown = 3600 });
        await _node.ResultAsync(added, Deadline);
        await _node.ResultAsync(failed, Deadline);
        await TasksAsync(tasks => tasks.Count == 3);

        await _node.KillAsync();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(IndexPath)!, "monitor.db*"))
            File.Delete(file);
        await _node.StartAsync();

        var rebuilt = await TasksAsync(tasks => tasks.Count == 3 && tasks[added]?["state"]?.GetValue<string>() == "SUCCESS"
                                                             && tasks[failed]?["state"]?.GetValue<string>() == "FAILURE");
        Assert.True(File.Exists(IndexPath));
        Assert.Equal(4, rebuilt[added]!["result"]!.GetValue<int>());
        Assert.Equal("tasks.add", rebuilt[added]!["name"]!.GetValue<string>());
        Assert.NotNull(rebuilt[added]!["started"]);
        Assert.Contains("restart-boom", rebuilt[failed]!["exception"]!.GetValue<string>());
        Assert.Equal("RECEIVED", rebuilt[later]!["state"]!.GetValue<string>());
        var (_, events) = await _node.Node.GetAsync($"api/task/events/{added}");
        Assert.Equal(["task-received", "task-succeeded"], events!.AsArray().Select(e => e!["type"]!.GetValue<string>()));

        // Killed again with its index in place: nothing is listed twice, and tasks sent since are added.
        var after = await _node.SendAsync("tasks.add", new { args = new[] { 7, 7 } });
        await _node.ResultAsync(after, Deadline);
        await TasksAsync(tasks => tasks.Count == 4);
        await _node.KillAsync();
        await _node.StartAsync();
        var kept = await TasksAsync(tasks => tasks.Count == 4 && tasks[after]?["state"]?.GetValue<string>() == "SUCCESS");
        Assert.Equal(14, kept[after]!["result"]!.GetValue<int>());
        var (_, again) = await _node.Node.GetAsync($"api/task/events/{added}");
        Assert.Equal(2, again!.AsArray().Count);
    }

    [Fact]
    public async Task A_node_whose_index_file_a_crash_left_unreadable_starts_and_lists_its_tasks_again_from_the_journal()
    {
        var added = await _node.SendAsync("tasks.add", new { args = new[] { 3, 4 } });
        await _node.ResultAsync(added, Deadline);
        await TasksAsync(tasks => tasks.Count == 1);

        await _node.KillAsync();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(IndexPath)!, "monitor.db*"))
            File.Delete(file);
        File.WriteAllBytes(IndexPath, Enumerable.Range(0, 64 * 1024).Select(i => (byte)(i * 7919 % 251)).ToArray());
        await _node.StartAsync();

        var rebuilt = await TasksAsync(tasks => tasks[added]?["state"]?.GetValue<string>() == "SUCCESS");
        Assert.Equal(7, rebuilt[added]!["result"]!.GetValue<int>());
    }

    /// <summary>Polls /api/tasks until <paramref name="done"/> holds for its tasks, under the deadline.</summary>
    private async Task<JsonObject> TasksAsync(Func<JsonObject, bool> done)
    {
        var deadline = DateTime.UtcNow + Deadline;
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var (status, body) = await _node.Node.GetAsync("api/tasks?limit=100");
            last = body;
            if (status == 200 && done(body!.AsObject()))
                return body.AsObject();
            await Task.Delay(100);
        }
        throw new TimeoutException($"/api/tasks did not show the expected tasks within {Deadline}: {last}");
    }
}

public sealed class SqliteMonitorRestartSpec() : MonitorRestartSpec(new StandaloneNode());

/// <summary>The same, with the journal (and so the task tag the index is rebuilt from) on a real redis-server.</summary>
public sealed class RedisMonitorRestartSpec : MonitorRestartSpec
{
    private readonly RedisServer _redis;

    public RedisMonitorRestartSpec() : this(new RedisServer())
    {
    }

    private RedisMonitorRestartSpec(RedisServer redis) : base(new StandaloneNode("--journal", "redis", "--redis", redis.ConnectionString))
    {
        _redis = redis;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _redis.Dispose();
    }
}
