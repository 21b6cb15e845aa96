using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Retention;

/// <summary>
/// A node's purges (a forget from a task entity, or a sweep's batch): removes the ids from the journal, then tells
/// every monitor (<see cref="TasksExpired"/>) so the monitor index drops them too. Runs the journal calls off its thread.
/// </summary>
public sealed class ResultPurger : ReceiveActor
{
    public const string Name = "retention-purger";

    public const string Path = "/user/" + Name;

    public ResultPurger(IJournalRetention journal, IActorRef? events)
    {
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
            Announce(events, purge.PersistenceIds);
            replyTo.Tell(new ResultsPurged(purge.PersistenceIds));
        });
    }

    public static Props Props(IJournalRetention journal, IActorRef? events) => FactoryProps.Of(() => new ResultPurger(journal, events));

    /// <summary>The task ids among <paramref name="persistenceIds"/>, published for the monitors.</summary>
    public static void Announce(IActorRef? events, IReadOnlyList<string> persistenceIds)
    {
        var taskIds = persistenceIds.Where(id => id.StartsWith(TaskPrefix, StringComparison.Ordinal)).Select(id => id[TaskPrefix.Length..]).ToArray();
        if (taskIds.Length > 0)
            events?.Tell(new Publish(RetentionTopics.Expired, new TasksExpired(taskIds)));
    }

    private static readonly string TaskPrefix = TaskEntity.PersistenceIdOf("");
}
