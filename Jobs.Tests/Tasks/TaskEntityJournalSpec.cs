using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Pattern;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Tasks;

/// <summary>
/// The task entity against a journal the test controls: writes slower than its timeouts, a stop message arriving
/// during a write, writes that fail or are rejected. Time is virtual; a held write ends when the test releases it.
/// </summary>
public sealed class TaskEntityJournalSpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """).WithFallback(ControllableJournal.Config);

    private static readonly TaskEntitySettings Settings = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
    private static readonly JsonElement Args = JsonDocument.Parse("[2, 2]").RootElement.Clone();
    private static readonly JsonElement Kwargs = JsonDocument.Parse("{}").RootElement.Clone();

    private readonly TestProbe _queues;

    public TaskEntityJournalSpec() : base(Config)
    {
        _queues = CreateTestProbe();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private ITestJournal Journal => ControllableJournal.JournalOf(Sys);

    /// <summary>An entity whose parent (its shard, here) is the test actor: Passivate and StartEntity come to the test.</summary>
    private IActorRef Entity(string id) => ChildActorOf(TaskEntity.Props(id, _queues.Ref, Settings));

    private SubmitTask Submit(string id, DateTimeOffset? due = null) => new(id, "tasks.add", Args, Kwargs, "default", due);

    /// <summary>
    /// Returns once the entity has handled everything sent to it so far (its idle timeout is armed after each
    /// message): <see cref="Identify"/> is answered by the actor cell in mailbox order, even during a write.
    /// </summary>
    private void Settle(IActorRef entity)
    {
        entity.Tell(new Identify(null));
        ExpectMsg<ActorIdentity>();
    }

    [Fact]
    public async Task A_task_accepted_by_a_write_slower_than_its_idle_timeout_is_not_passivated()
    {
        var held = new HeldWrites(TaskEntity.PersistenceIdOf("slow"));
        await Journal.OnWrite.SetInterceptorAsync(held);
        var entity = Entity("slow");
        entity.Tell(Submit("slow", due: Scheduler.Now.AddSeconds(30)));
        await held.Reached;
        Settle(entity);
        // The idle timeout of the new (unknown) entity fires during the write and waits in its stash.
        Scheduler.Advance(Settings.PassivateAfter);
        Settle(entity);
        held.Release();
        Assert.Equal(TaskState.Received, ExpectMsg<TaskResult>().State);

        // The stashed timeout is handled before this read: had it passivated the task, Passivate would come first.
        entity.Tell(new GetTaskResult("slow"));
        Assert.IsType<TaskResult>(ExpectMsg<object>());
        Scheduler.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("slow", _queues.ExpectMsg<EnqueueTask>().Task.TaskId);
    }

    [Fact]
    public async Task A_submission_handled_while_the_entity_passivates_is_answered_and_its_shard_starts_it_again()
    {
        var entity = Entity("late");
        Watch(entity);
        entity.Tell(new GetTaskResult("late"));
        Assert.Equal(TaskState.Pending, ExpectMsg<TaskResult>().State);
        Settle(entity);
        Scheduler.Advance(Settings.PassivateAfter);
        var passivate = ExpectMsg<Passivate>();

        // A submission the shard delivered before it took the request, and the shard's stop message during its write.
        var held = new HeldWrites(TaskEntity.PersistenceIdOf("late"));
        await Journal.OnWrite.SetInterceptorAsync(held);
        entity.Tell(Submit("late", due: Scheduler.Now.AddSeconds(30)));
        await held.Reached;
        entity.Tell(passivate.StopMessage);
        held.Release();

        Assert.Equal(TaskState.Received, ExpectMsg<TaskResult>().State);
        Assert.Equal("late", ExpectMsg<ShardRegion.StartEntity>().EntityId);
        ExpectTerminated(entity);
    }

    [Fact]
    public async Task A_write_that_may_have_been_stored_is_answered_outcome_unknown_with_the_task_id()
    {
        await Journal.OnWrite.Fail();
        Entity("unsure").Tell(Submit("unsure"));
        var failed = ExpectMsg<CommandFailed>();
        Assert.Equal("unsure", failed.Id);
        Assert.True(failed.OutcomeUnknown);
        Assert.Contains("may or may not have been accepted", failed.Reason);
    }

    [Fact]
    public async Task A_write_the_journal_certainly_did_not_store_is_answered_not_accepted_with_the_task_id()
    {
        await Journal.OnWrite.SetInterceptorAsync(new FailFirstWrite(TaskEntity.PersistenceIdOf("open"), new OpenCircuitException("the breaker is open")));
        Entity("open").Tell(Submit("open"));
        var refused = ExpectMsg<CommandFailed>();
        Assert.Equal("open", refused.Id);
        Assert.False(refused.OutcomeUnknown);
        Assert.Contains("was not accepted", refused.Reason);

        await Journal.OnWrite.Reject();
        Entity("rejected").Tell(new RevokeTask("rejected"));
        var rejected = ExpectMsg<CommandFailed>();
        Assert.False(rejected.OutcomeUnknown);
        Assert.StartsWith("the revoke of task rejected was not accepted: the journal rejected it", rejected.Reason);
    }

    [Fact]
    public async Task Without_remember_entities_a_task_whose_write_failed_asks_its_shard_to_start_it_again_after_the_backoff()
    {
        var settings = Settings with { RestartAfterFailure = TimeSpan.FromSeconds(2) };
        await Journal.OnWrite.Fail();
        var entity = ChildActorOf(TaskEntity.Props("failed", _queues.Ref, settings));
        Watch(entity);
        entity.Tell(Submit("failed"));
        ExpectMsg<CommandFailed>();
        ExpectTerminated(entity);
        Scheduler.Advance(TimeSpan.FromSeconds(1.9));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal("failed", ExpectMsg<ShardRegion.StartEntity>().EntityId);
    }

    [Fact]
    public async Task With_remember_entities_a_task_whose_write_failed_leaves_its_restart_to_sharding()
    {
        await Journal.OnWrite.Fail();
        var entity = Entity("remembered");
        Watch(entity);
        entity.Tell(Submit("remembered"));
        ExpectMsg<CommandFailed>();
        ExpectTerminated(entity);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
