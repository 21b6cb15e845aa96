using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace Jobs.Actors.Tasks;

/// <summary>
/// The cluster's list of recently revoked tasks, for <c>tasks revoked</c>: each shard node adds the revokes its
/// task entities journal to a replicated dictionary, trimmed to the newest <c>jobs.tasks.revoked-list-size</c>.
/// It is an index only — each task's journal is what keeps a revoked task from running, across restarts.
/// </summary>
public sealed class RevokedTaskIndex : ReceiveActor
{
    public static readonly LWWDictionaryKey<string, RevokedTaskEntry> Key = new("jobs-revoked-tasks");

    public RevokedTaskIndex(int capacity)
    {
        var replicator = DistributedData.Get(Context.System).Replicator;
        var cluster = Cluster.Get(Context.System);
        Receive<TaskRevoked>(revoked =>
        {
            var entry = new RevokedTaskEntry(revoked.TaskId, revoked.Reason, revoked.Timestamp);
            replicator.Tell(Dsl.Update(Key, LWWDictionary<string, RevokedTaskEntry>.Empty, WriteLocal.Instance, list =>
            {
                list = list.SetItem(cluster, entry.TaskId, entry);
                if (list.Count <= capacity)
                    return list;
                foreach (var oldest in list.Entries.Values.OrderBy(e => e.RevokedAt).Take(list.Count - capacity).ToArray())
                    list = list.Remove(cluster, oldest.TaskId);
                return list;
            }));
        });
        Receive<UpdateSuccess>(_ => { });
        Receive<IUpdateFailure>(_ => { });
    }

    public static Props Props(int capacity) => Akka.Actor.Props.Create(() => new RevokedTaskIndex(capacity));

    /// <summary>The list as this node has it (replicated from every node within a gossip interval).</summary>
    public static async Task<IReadOnlyList<RevokedTaskEntry>> ReadAsync(ActorSystem system, TimeSpan timeout)
    {
        var response = await DistributedData.Get(system).Replicator
            .Ask<IGetResponse>(Dsl.Get(Key, ReadLocal.Instance), timeout).ConfigureAwait(false);
        return response.IsSuccessful
            ? response.Get(Key).Entries.Values.OrderByDescending(e => e.RevokedAt).ToArray()
            : [];
    }
}
