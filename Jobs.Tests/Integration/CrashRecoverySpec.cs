using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// Acceptance is durable: a standalone node killed with SIGKILL and started again on the same journal runs
/// every accepted task, and records each result exactly once.
/// </summary>
public abstract class CrashRecoverySpec(StandaloneNode node) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly StandaloneNode _node = node;

    public Task InitializeAsync() => _node.StartAsync();

    public virtual Task DisposeAsync() => _node.DisposeAsync().AsTask();

    [Fact]
    public async Task Accepted_tasks_survive_kill_9_and_each_completes_exactly_once()
    {
        var countdown = await _node.SendAsync("tasks.add", new { args = new[] { 3, 4 }, countdown = 10 });
        var sleeping = await _node.SendAsync("tasks.sleep", new { args = new[] { 4 } });
        var retrying = await _node.SendAsync("test.retry_later", new { args = new[] { 8 } });
        await WaitForStateAsync(sleeping, "STARTED");
        await WaitForStateAsync(retrying, "RETRY");

        await _node.KillAsync();
        Assert.Equal(["TaskReceived"], JournaledEvents(countdown));
        Assert.Equal(["TaskReceived"], JournaledEvents(sleeping));
        Assert.Equal(["TaskReceived", "TaskRetried"], JournaledEvents(retrying));
        await _node.StartAsync();

        var added = await _node.ResultAsync(countdown, Deadline);
        Assert.Equal(7, added["result"]!.GetValue<int>());
        var slept = await _node.ResultAsync(sleeping, Deadline);
        Assert.Equal("SUCCESS", slept["state"]!.GetValue<string>());
        var retried = await _node.ResultAsync(retrying, Deadline);
        Assert.Equal(1, retried["result"]!.GetValue<int>());

        var (_, info) = await _node.Node.GetAsync($"api/task/info/{countdown}");
        var due = DateTimeOffset.Parse(info!["eta"]!.GetValue<string>()).ToUnixTimeMilliseconds() / 1000.0;
        var started = info["started"]!.GetValue<double>();
        Assert.True(started >= due, $"the countdown task started {due - started:0.000} s before it was due");

        Assert.Equal(["TaskReceived", "TaskSucceeded"], JournaledEvents(countdown));
        Assert.Equal(["TaskReceived", "TaskSucceeded"], JournaledEvents(sleeping));
        Assert.Equal(["TaskReceived", "TaskRetried", "TaskSucceeded"], JournaledEvents(retrying));
    }

    /// <summary>The manifests of the events journaled for a task, read straight from the backend.</summary>
    protected abstract IReadOnlyList<string> JournaledEvents(string taskId);

    protected StandaloneNode Node => _node;

    protected async Task WaitForStateAsync(string taskId, string state)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < deadline)
        {
            var (_, body) = await _node.Node.GetAsync($"api/task/result/{taskId}");
            if (body!["state"]!.GetValue<string>() == state)
                return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"task {taskId} did not reach {state} within {Deadline}");
    }
}

public sealed class SqliteCrashRecoverySpec() : CrashRecoverySpec(new StandaloneNode())
{
    protected override IReadOnlyList<string> JournaledEvents(string taskId) => Node.JournaledEvents(taskId);
}

/// <summary>The same crash, with the journal on a real redis-server.</summary>
public sealed class RedisCrashRecoverySpec : CrashRecoverySpec
{
    private readonly RedisServer _redis;

    public RedisCrashRecoverySpec() : this(new RedisServer())
    {
    }

    private RedisCrashRecoverySpec(RedisServer redis) : base(new StandaloneNode("--journal", "redis", "--redis", redis.ConnectionString))
    {
        _redis = redis;
    }

    protected override IReadOnlyList<string> JournaledEvents(string taskId) => RedisJournalReader.Manifests(_redis, taskId);

    /// <summary>
    /// On Redis, sharding remembers no task: the write that journals a task's acceptance adds it to its shard's
    /// pending index, that index is what brings it back after kill -9, and the write of its result removes it.
    /// </summary>
    [Fact]
    public async Task Tasks_accepted_before_a_kill_9_start_again_from_their_shards_pending_index()
    {
        var countdown = await Node.SendAsync("tasks.add", new { args = new[] { 1, 2 }, countdown = 4 });
        var retrying = await Node.SendAsync("test.retry_later", new { args = new[] { 4 } });
        await WaitForStateAsync(retrying, "RETRY");
        await Node.KillAsync();

        using (var connection = StackExchange.Redis.ConnectionMultiplexer.Connect(_redis.ConnectionString))
        {
            var server = connection.GetServer(connection.GetEndPoints()[0]);
            Assert.Empty(server.Keys(pattern: "*sharding/taskShard*"));
            Assert.Equivalent(new[] { countdown, retrying }, PendingTasks(connection), strict: false);
        }
        await Node.StartAsync();

        // Asking an entity for its result would start it: wait on the journal alone, so only the node can have started them.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(JournaledEvents(countdown).Contains("TaskSucceeded") && JournaledEvents(retrying).Contains("TaskSucceeded")))
        {
            Assert.True(DateTime.UtcNow < deadline, "the tasks accepted before the kill did not run after the restart");
            await Task.Delay(100);
        }
        Assert.Equal(3, (await Node.ResultAsync(countdown, TimeSpan.FromSeconds(60)))["result"]!.GetValue<int>());
        Assert.Equal(1, (await Node.ResultAsync(retrying, TimeSpan.FromSeconds(60)))["result"]!.GetValue<int>());
        using (var connection = StackExchange.Redis.ConnectionMultiplexer.Connect(_redis.ConnectionString))
        {
            var left = PendingTasks(connection);
            Assert.DoesNotContain(countdown, left);
            Assert.DoesNotContain(retrying, left);
        }
    }

    private static IReadOnlyList<string> PendingTasks(StackExchange.Redis.ConnectionMultiplexer connection)
    {
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var database = connection.GetDatabase();
        return server.Keys(pattern: "jobs:*:set:pending:*").SelectMany(key => database.SetMembers(key)).Select(m => (string)m!).ToArray();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _redis.Dispose();
    }
}
