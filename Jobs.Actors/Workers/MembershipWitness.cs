using Akka.Actor;
using Akka.Cluster;

namespace Jobs.Actors.Workers;

/// <summary>
/// On every node, at <c>/user/membership-witness</c>: tells a worker that woke from a pause how this node sees it. The
/// worker's own view is as old as its pause, so only another member can say whether it was downed meanwhile.
/// </summary>
public sealed class MembershipWitness : ReceiveActor
{
    public const string Name = "membership-witness";

    /// <summary>The status answered for an incarnation that is not a member (removed, or never seen).</summary>
    public const string Absent = "Absent";

    public MembershipWitness()
    {
        var cluster = Cluster.Get(Context.System);
        Receive<ConfirmMember>(confirm =>
        {
            var member = cluster.State.Members.FirstOrDefault(m => m.UniqueAddress.Uid == confirm.Uid && m.Address.ToString() == confirm.Address);
            Sender.Tell(new MemberStatusSeen(confirm.Address, confirm.Uid, member?.Status.ToString() ?? Absent));
        });
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new MembershipWitness());
}

/// <summary>Who a paused worker asks about itself: its own incarnation, and the witnesses of the other members.</summary>
public interface IMembership
{
    ConfirmMember Self { get; }

    /// <summary>The witnesses of the members other than this node that this node last saw Up.</summary>
    IReadOnlyList<ICanTell> Witnesses();
}

/// <summary>The cluster's members, as this node's (possibly stale) state lists them.</summary>
public sealed class ClusterMembership(ActorSystem system) : IMembership
{
    private readonly Cluster _cluster = Cluster.Get(system);

    public ConfirmMember Self => new(_cluster.SelfAddress.ToString(), _cluster.SelfUniqueAddress.Uid);

    public IReadOnlyList<ICanTell> Witnesses() =>
        _cluster.State.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp && !m.UniqueAddress.Equals(_cluster.SelfUniqueAddress))
            .Select(m => (ICanTell)system.ActorSelection(new RootActorPath(m.Address) / "user" / MembershipWitness.Name))
            .ToArray();
}
