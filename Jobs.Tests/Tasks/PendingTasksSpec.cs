using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Hosting;
using Jobs.Actors.Persistence;
using Jobs.Actors.Persistence.Redis;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Jobs.Tests.Persistence;
using Xunit;

namespace Jobs.Tests.Tasks;

/// <summary>Which task events change the pending index, and what the Redis journal's task adapter writes.</summary>
public sealed class PendingTasksSpec
{
    private static readonly JsonElement Json = JsonDocument.Parse("[]").RootElement.Clone();
    private static readonly TaskError Error = new("ValueError", "no", "");
    private static readonly DateTimeOffset At = DateTimeOffset.UnixEpoch;

    [Fact]
    public void Acceptance_adds_the_task_to_its_shards_index_its_end_removes_it_and_a_retry_leaves_it()
    {
        var index = JournalIndexes.Pending("7");
        Assert.Equal([IndexOperation.AddToSet(index, "t")], PendingTasks.OperationsFor(new TaskReceived("t", "n", Json, Json, "q", null, null, At), "7"));
        Assert.Empty(PendingTasks.OperationsFor(new TaskRetried("t", 1, At, Error, "w", At), "7"));
        Assert.Equal([IndexOperation.RemoveFromSet(index, "t")], PendingTasks.OperationsFor(new TaskSucceeded("t", Json, "w", At, 0.1, At), "7"));
        Assert.Equal([IndexOperation.RemoveFromSet(index, "t")], PendingTasks.OperationsFor(new TaskFailed("t", Error, "w", At, 0.1, At), "7"));
        Assert.Equal([IndexOperation.RemoveFromSet(index, "t")], PendingTasks.OperationsFor(new TaskRevoked("t", RevocationReasons.Expired, At), "7"));
    }

    [Fact]
    public void The_adapter_tags_every_event_and_indexes_it_in_the_shard_the_task_regions_extractor_gives()
    {
        using var system = ActorSystem.Create("adapter", ConfigurationFactory.ParseString("""
            jobs.persistence.journal = redis
            jobs.sharding.number-of-shards = 10
            """));
        var adapter = new TaskJournalAdapter((ExtendedActorSystem)system);
        var received = new TaskReceived("some-task", "n", Json, Json, "q", null, null, At);
        var tagged = Assert.IsType<Tagged>(adapter.ToJournal(received));
        Assert.Equal(["task"], tagged.Tags);
        var indexed = Assert.IsType<Indexed>(tagged.Payload);
        Assert.Same(received, indexed.Payload);
        var shard = new StableMessageExtractor(10, m => (m as ITaskCommand)?.TaskId).ShardId(new GetTaskResult("some-task"));
        Assert.Equal([IndexOperation.AddToSet(JournalIndexes.Pending(shard), "some-task")], indexed.Operations);

        var retried = new TaskRetried("some-task", 1, At, Error, "w", At);
        Assert.Same(retried, Assert.IsType<Tagged>(adapter.ToJournal(retried)).Payload);
    }

    [Theory]
    [InlineData("jobs.persistence.journal = redis\njobs.tasks.pending.restart-from = remember-entities")]
    [InlineData("jobs.persistence.journal = sqlite")]
    public void Without_the_index_the_adapter_only_tags(string hocon)
    {
        using var system = ActorSystem.Create("adapter", ConfigurationFactory.ParseString(hocon));
        var received = new TaskReceived("t", "n", Json, Json, "q", null, null, At);
        Assert.Same(received, Assert.IsType<Tagged>(new TaskJournalAdapter((ExtendedActorSystem)system).ToJournal(received)).Payload);
    }

    [Fact]
    public void A_restart_mode_that_does_not_exist_is_refused_with_the_choices()
    {
        var error = Assert.Throws<ConfigurationException>(() =>
            PendingIndexSettings.Create(ConfigurationFactory.ParseString("jobs.tasks.pending.restart-from = memory")));
        Assert.Contains("'index' or 'remember-entities', not 'memory'", error.Message);
    }
}

/// <summary>
/// The pending index on a real redis-server (4 partitions): written by task entities through the journal's task
/// adapter, and read by a shard's waker.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class PendingIndexRedisSpec(RedisServer redis) : TestKit(ConfigurationFactory.ParseString("""
        jobs.persistence.journal = redis
        jobs.tasks.pending.wake-batch = 2
        """)
    .WithFallback(PersistenceBackends.Redis(redis, partitions: 4))
    .WithFallback(JobsConfig.Embedded("monitoring.conf"))
    .WithFallback(JobsConfig.Embedded("jobs.conf")))
{
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly TaskEntitySettings Settings = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));

    private static string ShardOf(string taskId) => new StableMessageExtractor(100, _ => null).ShardId(taskId);

    private async Task<IReadOnlyList<string>> PendingAsync(string shard)
    {
        var members = new List<string>();
        await foreach (var member in new RedisJournalIndexes(Sys).SetMembersAsync(JournalIndexes.Pending(shard)))
            members.Add(member);
        return members;
    }

    private IActorRef Entity(string id) => ChildActorOf(TaskEntity.Props(id, CreateTestProbe().Ref, Settings));

    private SubmitTask Submit(string id, DateTimeOffset? due = null) => new(id, "tasks.add", Args, Kwargs, "default", due);

    [Fact]
    public async Task A_task_joins_its_shards_pending_index_when_accepted_and_leaves_it_when_it_ends()
    {
        var done = "done-" + Guid.NewGuid().ToString("N");
        var revoked = "revoked-" + Guid.NewGuid().ToString("N");
        var entity = Entity(done);
        entity.Tell(Submit(done));
        ExpectMsg<TaskResult>();
        var other = Entity(revoked);
        other.Tell(Submit(revoked, DateTimeOffset.UtcNow.AddHours(1)));
        ExpectMsg<TaskResult>();
        Assert.Contains(done, await PendingAsync(ShardOf(done)));
        Assert.Contains(revoked, await PendingAsync(ShardOf(revoked)));

        entity.Tell(new CompleteAttempt(done, 0, AttemptOutcome.Succeeded, "worker@test", DateTimeOffset.UtcNow, 0.01, Args));
        ExpectMsg<AttemptRecorded>();
        other.Tell(new RevokeTask(revoked));
        Assert.Equal(TaskState.Revoked, ExpectMsg<TaskResult>().State);
        // The write that recorded the outcome is the one that removed the id: both are in Redis once the entity acked.
        Assert.DoesNotContain(done, await PendingAsync(ShardOf(done)));
        Assert.DoesNotContain(revoked, await PendingAsync(ShardOf(revoked)));
    }

    [Fact]
    public async Task A_shards_waker_starts_every_pending_task_of_its_shard_and_only_those()
    {
        var shard = "3";
        var pending = Enumerable.Range(0, 5).Select(i => $"pending-{i}-{Guid.NewGuid():N}").ToArray();
        var finished = "finished-" + Guid.NewGuid().ToString("N");
        var elsewhere = "elsewhere-" + Guid.NewGuid().ToString("N");
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        void Write(string id, long seq, params IndexOperation[] operations)
        {
            journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(new Indexed("event", operations), seq, "task-" + id,
                string.Empty, false, ActorRefs.NoSender, "w"))], TestActor, 1));
            ExpectMsg<WriteMessagesSuccessful>();
            ExpectMsg<WriteMessageSuccess>();
        }
        foreach (var id in pending.Append(finished))
            Write(id, 1, IndexOperation.AddToSet(JournalIndexes.Pending(shard), id));
        Write(finished, 2, IndexOperation.RemoveFromSet(JournalIndexes.Pending(shard), finished));
        Write(elsewhere, 1, IndexOperation.AddToSet(JournalIndexes.Pending("4"), elsewhere));

        var shardProbe = CreateTestProbe();
        Sys.ActorOf(PendingTaskWaker.Props(shard, new RedisJournalIndexes(Sys), PendingIndexSettings.Create(Sys.Settings.Config), shardProbe.Ref));
        var started = Enumerable.Range(0, pending.Length).Select(_ => shardProbe.ExpectMsg<ShardRegion.StartEntity>().EntityId).ToArray();
        Assert.Equal(pending.Order(), started.Order());
        shardProbe.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void A_nodes_ticker_starts_the_wakers_of_shards_with_pending_tasks_and_leaves_the_other_shards_unallocated()
    {
        var id = $"waiting-{Guid.NewGuid():N}";
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(new Indexed("event", [IndexOperation.AddToSet(JournalIndexes.Pending("7"), id)]), 1,
            "task-" + id, string.Empty, false, ActorRefs.NoSender, "w"))], TestActor, 1));
        ExpectMsg<WriteMessagesSuccessful>();
        ExpectMsg<WriteMessageSuccess>();

        var region = CreateTestProbe();
        Sys.ActorOf(PendingShardWakers.Props(region.Ref, new RedisJournalIndexes(Sys), 100, TimeSpan.FromHours(1)));
        var started = new List<string> { region.ExpectMsg<ShardRegion.StartEntity>(TimeSpan.FromSeconds(10)).EntityId };
        while (region.ReceiveOne(TimeSpan.FromMilliseconds(500)) is ShardRegion.StartEntity more)
            started.Add(more.EntityId);
        Assert.Contains(StableMessageExtractor.ShardWakerId("7"), started);
        // Shards 3 and 4 may hold what the other specs of this class left pending; no other shard holds anything.
        Assert.Subset(new[] { "3", "4", "7" }.Select(StableMessageExtractor.ShardWakerId).ToHashSet(), started.ToHashSet());
    }
}
