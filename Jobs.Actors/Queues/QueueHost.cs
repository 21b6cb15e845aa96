using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace Jobs.Actors.Queues;

/// <summary>
/// A node's queues (<c>/user/queues</c>): one <see cref="QueueActor"/> partition per queue name this node's entities
/// enqueue to or its workers consume, started on the first message for it, each its child. Task entities and the
/// worker of the node tell this host, which forwards (the sender kept, so partitions answer their senders directly):
/// a local hop instead of a shard region's. The host also knows the hosts of the other nodes that hold partitions
/// (cluster members with <c>partitionRole</c>, each watched once), tells its partitions, passes on what other
/// nodes' partitions send them, and answers cluster-wide questions (a queue's length over every partition) by
/// asking every host. Nodes without that role (api, seed) hold no partitions and only ask.
/// </summary>
public sealed class QueueHost : ReceiveActor, IWithTimers
{
    public const string Name = "queues";

    private readonly QueueSettings _settings;
    private readonly bool _holdsPartitions;
    private readonly string? _partitionRole;
    private readonly Dictionary<string, IActorRef> _partitions = new();
    private readonly Dictionary<IActorRef, string> _names = new();
    private readonly Dictionary<Address, IActorRef?> _peerHosts = new();
    private IReadOnlyList<IActorRef> _peers = [];
    private Address _selfAddress = null!;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    /// <param name="holdsPartitions">false on nodes without the shard role: they only ask.</param>
    /// <param name="partitionRole">the role of the nodes whose hosts are peers, followed through cluster membership;
    /// null without a cluster, when <see cref="PeerHosts"/> is told instead.</param>
    public QueueHost(QueueSettings settings, bool holdsPartitions, string? partitionRole)
    {
        _settings = settings;
        _holdsPartitions = holdsPartitions;
        _partitionRole = partitionRole;

        Receive<GetQueueStats>(OnGetStats);
        Receive<GetPartitionStats>(get =>
        {
            if (PartitionOf(get.Queue, start: false) is { } partition)
                partition.Forward(new GetQueueStats(get.Queue));
            else
                Sender.Tell(new QueueStats(get.Queue, 0, 0, 0));
        });
        Receive<GetQueuePartitions>(_ => Ask<LocalPartitions>(GetLocalPartitions.Instance, replies =>
            new QueuePartitions(replies.Select(r => new NodePartitions(r.Node, r.Reply.Queues)).ToArray())));
        Receive<GetLocalPartitions>(_ => Sender.Tell(new LocalPartitions(_partitions.Keys.Order(StringComparer.Ordinal).ToArray())));
        // From other nodes' partitions: passed on only to a partition that exists; none is started for them.
        Receive<FindAttempts>(find =>
        {
            if (PartitionOf(find.Queue, start: false) is { } partition)
                partition.Forward(find);
            else
                Sender.Tell(new AttemptsFound(find.Queue, find.Round, []));
        });
        Receive<PartitionAvailable>(available => PartitionOf(available.Queue, start: false)?.Forward(available));
        Receive<Borrow>(borrow => PartitionOf(borrow.Queue, start: false)?.Forward(borrow));
        Receive<IQueueCommand>(command => PartitionOf(command.Queue, start: true)?.Forward(command));
        Receive<PeerHosts>(peers => SetPeers(peers.Hosts));
        Receive<ClusterEvent.MemberUp>(up => OnMemberUp(up.Member));
        Receive<ClusterEvent.MemberRemoved>(removed => OnMemberRemoved(removed.Member.Address));
        Receive<ActorIdentity>(OnIdentified);
        Receive<IdentifyAgain>(_ => IdentifyUnresolved());
        Receive<Terminated>(terminated => OnTerminated(terminated.ActorRef));
    }

    public static Props Props(QueueSettings settings, bool holdsPartitions, string? partitionRole) =>
        Akka.Actor.Props.Create(() => new QueueHost(settings, holdsPartitions, partitionRole));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        _selfAddress = Self.Path.Address;
        if (_partitionRole is null)
            return;
        var cluster = Cluster.Get(Context.System);
        _selfAddress = cluster.SelfAddress;
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberRemoved));
    }

    protected override void PostStop()
    {
        if (_partitionRole is not null)
            Cluster.Get(Context.System).Unsubscribe(Self);
    }

    private IActorRef? PartitionOf(string queue, bool start)
    {
        if (_partitions.TryGetValue(queue, out var partition))
        {
            // A partition that stopped leaves the children before its Terminated reaches this host (which may come after
            // an entity's new enqueue): a message for it then starts its successor at once instead of being lost.
            if (!Context.Child(partition.Path.Name).IsNobody())
                return partition;
            _partitions.Remove(queue);
            _names.Remove(partition);
        }
        if (!start)
            return null;
        if (!_holdsPartitions)
        {
            _log.Warning("Queue {0}: this node holds no queue partitions (it has no shard role); the message is dropped", queue);
            return null;
        }
        partition = Context.ActorOf(QueueActor.Props(queue, _settings), ChildName(queue));
        Context.Watch(partition);
        _partitions[queue] = partition;
        _names[partition] = queue;
        partition.Tell(new PeerHosts(_peers));
        return partition;
    }

    /// <summary>Queue names from configuration may hold any character; as an actor name they are escaped.</summary>
    private static string ChildName(string queue) => queue.Length == 0 ? "~" : Uri.EscapeDataString(queue);

    private void OnGetStats(GetQueueStats get) =>
        Ask<QueueStats>(new GetPartitionStats(get.Queue), replies => new QueueStats(get.Queue,
            replies.Sum(r => r.Reply.Waiting), replies.Sum(r => r.Reply.Leased), replies.Sum(r => r.Reply.Consumers),
            replies.Select(r => new PartitionStats(r.Node, r.Reply.Waiting, r.Reply.Leased, r.Reply.Consumers)).ToArray()));

    /// <summary>Asks every node's host (this one included when it holds partitions) and answers the sender with the combined replies.</summary>
    private void Ask<TReply>(object request, Func<IReadOnlyList<(string Node, TReply Reply)>, object> combine)
    {
        IReadOnlyList<IActorRef> hosts = _holdsPartitions ? [Self, .. _peers] : _peers;
        Context.ActorOf(HostsQuery<TReply>.Props(request, hosts, Sender, _selfAddress, _settings.FindTimeout, combine));
    }

    private void OnMemberUp(Member member)
    {
        if (member.Address.Equals(_selfAddress) || !member.HasRole(_partitionRole!) || _peerHosts.ContainsKey(member.Address))
            return;
        _peerHosts[member.Address] = null;
        Identify(member.Address);
    }

    private void OnMemberRemoved(Address address)
    {
        if (!_peerHosts.Remove(address, out var host))
            return;
        if (host is not null)
            Context.Unwatch(host);
        PublishPeers();
    }

    private void Identify(Address address) =>
        Context.ActorSelection(new RootActorPath(address) / "user" / Name).Tell(new Identify(address));

    private void OnIdentified(ActorIdentity identity)
    {
        if (identity.MessageId is not Address address || !_peerHosts.ContainsKey(address))
            return;
        if (identity.Subject is null)
        {
            // Its node is Up but its host not started yet, or the answer was lost: asked again shortly.
            Timers.StartSingleTimer(IdentifyAgain.Instance, IdentifyAgain.Instance, TimeSpan.FromSeconds(1));
            return;
        }
        _peerHosts[address] = identity.Subject;
        Context.Watch(identity.Subject);
        PublishPeers();
    }

    private void IdentifyUnresolved()
    {
        foreach (var (address, host) in _peerHosts)
        {
            if (host is null)
                Identify(address);
        }
    }

    private void OnTerminated(IActorRef who)
    {
        // A partition that failed stopped itself (see QueueActor); the next message for its queue starts another.
        if (_names.Remove(who, out var queue))
        {
            if (_partitions.TryGetValue(queue, out var current) && current.Equals(who))
                _partitions.Remove(queue);
            return;
        }
        foreach (var (address, host) in _peerHosts.ToArray())
        {
            if (!who.Equals(host))
                continue;
            // Its node still counts as a member until it is removed: ask again (it may be restarting).
            _peerHosts[address] = null;
            PublishPeers();
            Timers.StartSingleTimer(IdentifyAgain.Instance, IdentifyAgain.Instance, TimeSpan.FromSeconds(1));
        }
    }

    private void PublishPeers() =>
        SetPeers(_peerHosts.Values.OfType<IActorRef>().OrderBy(h => h.Path.ToString(), StringComparer.Ordinal).ToArray());

    private void SetPeers(IReadOnlyList<IActorRef> peers)
    {
        _peers = peers;
        foreach (var partition in _partitions.Values)
            partition.Tell(new PeerHosts(peers));
    }

    private sealed class IdentifyAgain
    {
        public static readonly IdentifyAgain Instance = new();
    }
}
