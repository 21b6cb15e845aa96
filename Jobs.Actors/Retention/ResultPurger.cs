using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Retention;

/// <summary>
/// A node's purges (a forget from a task entity, or a sweep's batch): removes the ids from the journal, then tells
/// every monitor (<see cref="TasksExpired"/>) so the monitor index drops them too. Runs the journal calls off its thread.
/// It also tells this node's task entities in memory whose results were purged with their canvas.
/// </summary>
public sealed class ResultPurger : ReceiveActor
{
    public const string Name = "retention-purger";

    public const string Path = "/user/" + Name;

    private readonly IActorRef? _events;
    private readonly StableMessageExtractor _shards;

    public ResultPurger(IJournalRetention journal, IActorRef? events)
    {
        _events = events;
        _shards = new StableMessageExtractor(Context.System.Settings.Config.GetInt("jobs.sharding.number-of-shards", 100), _ => null);
        Receive<TasksExpired>(expired =>
        {
            if (!expired.InMemoryToo)
                return;
            // By path, not through the region: an entity not in memory is not started (the message is dropped silently).
            foreach (var id in expired.TaskIds)
                Context.ActorSelection($"/system/sharding/{JobsNode.TaskTypeName}/{_shards.ShardId(id)}/{Uri.EscapeDataString(id)}")
                    .Tell(new TaskResultPurged(id));
        });
        Receive<SubscribeAck>(_ => { });
        ReceiveAsync<PurgeResults>(async purge =>
        {
            var replyTo = Sender;
            try
            {
                await journal.PurgeAsync(purge.PersistenceIds).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                replyTo.Tell(new ResultsPurged(purge.PersistenceIds, e.Message));
                return;
            }
            Announce(events, purge.PersistenceIds, purge.InMemoryToo);
            replyTo.Tell(new ResultsPurged(purge.PersistenceIds));
        });
    }

    protected override void PreStart() => _events?.Tell(new Subscribe(RetentionTopics.Expired, Self));

    public static Props Props(IJournalRetention journal, IActorRef? events) => FactoryProps.Of(() => new ResultPurger(journal, events));

    /// <summary>The task ids among <paramref name="persistenceIds"/>, published for the monitors.</summary>
    public static void Announce(IActorRef? events, IReadOnlyList<string> persistenceIds, bool inMemoryToo = false)
    {
        var taskIds = persistenceIds.Where(id => id.StartsWith(TaskPrefix, StringComparison.Ordinal)).Select(id => id[TaskPrefix.Length..]).ToArray();
        if (taskIds.Length > 0)
            events?.Tell(new Publish(RetentionTopics.Expired, new TasksExpired(taskIds, inMemoryToo)));
    }

    private static readonly string TaskPrefix = TaskEntity.PersistenceIdOf("");
}
