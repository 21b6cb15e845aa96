using System.Collections.Frozen;
using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;

namespace Jobs.Actors.Tasks;

/// <summary>The task names one worker node registers, as replicated to every node.</summary>
public sealed record NodeTaskTypes(string Node, IReadOnlyList<string> Names) : IJobsMessage;

/// <summary>
/// The cluster-wide catalog: every worker publishes its task names in a replicated dictionary keyed by its
/// address, and every node keeps the union over the members that are still up. Nodes without task code (api,
/// seed) learn from it which names exist, so <c>async-apply</c> of an unknown name is a 404 anywhere.
/// </summary>
public sealed class ClusterTaskCatalog : ITaskCatalog
{
    private static readonly LWWDictionaryKey<string, NodeTaskTypes> Key = new("jobs-task-types");

    private readonly TaskRegistry? _local;
    private volatile FrozenSet<string> _names;

    private ClusterTaskCatalog(TaskRegistry? local)
    {
        _local = local;
        _names = (local?.Names ?? []).ToFrozenSet();
    }

    /// <summary>Starts following the catalog; with <paramref name="local"/>, also publishes this node's tasks.</summary>
    public static ClusterTaskCatalog Start(ActorSystem system, TaskRegistry? local = null)
    {
        var catalog = new ClusterTaskCatalog(local);
        system.ActorOf(Props.Create(() => new Follower(catalog, local)), "task-catalog");
        return catalog;
    }

    public IReadOnlyCollection<string> Names => _names.Order(StringComparer.Ordinal).ToArray();

    public bool IsRegistered(string name) => _names.Contains(name);

    public TaskDefinition? LocalDefinition(string name) =>
        _local is not null && _local.TryGet(name, out var definition) ? definition : null;

    private sealed class Follower : ReceiveActor
    {
        private readonly ClusterTaskCatalog _catalog;
        private readonly Cluster _cluster = Cluster.Get(Context.System);
        private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
        private readonly HashSet<string> _up = new();
        private IReadOnlyDictionary<string, NodeTaskTypes> _published = new Dictionary<string, NodeTaskTypes>();

        public Follower(ClusterTaskCatalog catalog, TaskRegistry? local)
        {
            _catalog = catalog;
            if (local is not null)
            {
                var self = _cluster.SelfAddress.ToString();
                _replicator.Tell(Dsl.Update(Key, LWWDictionary<string, NodeTaskTypes>.Empty, WriteLocal.Instance,
                    d => d.SetItem(_cluster, self, new NodeTaskTypes(self, local.Names.ToArray()))));
            }
            Receive<Changed>(changed =>
            {
                _published = changed.Get(Key).Entries;
                Refresh();
            });
            Receive<ClusterEvent.CurrentClusterState>(state =>
            {
                foreach (var member in state.Members.Where(m => m.Status == MemberStatus.Up))
                    _up.Add(member.Address.ToString());
                Refresh();
            });
            Receive<ClusterEvent.MemberUp>(up =>
            {
                _up.Add(up.Member.Address.ToString());
                Refresh();
            });
            Receive<ClusterEvent.MemberRemoved>(removed =>
            {
                _up.Remove(removed.Member.Address.ToString());
                Refresh();
            });
            Receive<UpdateSuccess>(_ => { });
            Receive<IUpdateFailure>(_ => { });
        }

        protected override void PreStart()
        {
            _replicator.Tell(Dsl.Subscribe(Key, Self));
            _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
                typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberRemoved));
        }

        protected override void PostStop() => _cluster.Unsubscribe(Self);

        private void Refresh()
        {
            var names = new HashSet<string>(_catalog._local?.Names ?? []);
            foreach (var (node, types) in _published)
            {
                if (_up.Contains(node))
                    names.UnionWith(types.Names);
            }
            _catalog._names = names.ToFrozenSet();
        }
    }
}
