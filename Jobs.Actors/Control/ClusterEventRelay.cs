using System.Text.Json.Nodes;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;

namespace Jobs.Actors.Control;

/// <summary>Feeds <c>cluster tail</c>: one line per member, reachability and leader event this node sees, as it happens.</summary>
public sealed class ClusterEventRelay : ReceiveActor
{
    private readonly ChannelWriter<JsonNode> _out;

    public ClusterEventRelay(ChannelWriter<JsonNode> output)
    {
        _out = output;
        Receive<ClusterEvent.CurrentClusterState>(state => Write(new JsonObject
        {
            ["event"] = "CurrentClusterState",
            ["members"] = state.Members.Count,
            ["unreachable"] = state.Unreachable.Count,
            ["leader"] = state.Leader?.ToString(),
        }));
        Receive<ClusterEvent.IMemberEvent>(e => Write(Describe(e.GetType().Name, e.Member)));
        Receive<ClusterEvent.UnreachableMember>(e => Write(Describe("UnreachableMember", e.Member)));
        Receive<ClusterEvent.ReachableMember>(e => Write(Describe("ReachableMember", e.Member)));
        Receive<ClusterEvent.LeaderChanged>(e => Write(new JsonObject { ["event"] = "LeaderChanged", ["leader"] = e.Leader?.ToString() }));
    }

    public static Props Props(ChannelWriter<JsonNode> output) => Akka.Actor.Props.Create(() => new ClusterEventRelay(output));

    protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
        typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));

    protected override void PostStop()
    {
        Cluster.Get(Context.System).Unsubscribe(Self);
        _out.TryComplete();
    }

    private static JsonObject Describe(string name, Member member) => new()
    {
        ["event"] = name,
        ["address"] = member.Address.ToString(),
        ["status"] = member.Status.ToString(),
        ["roles"] = string.Join(",", member.Roles.Order()),
    };

    // The channel is unbounded: membership events are few, and none may be lost from the tail.
    private void Write(JsonObject e)
    {
        e["at"] = DateTimeOffset.UtcNow.ToString("O");
        _out.TryWrite(e);
    }
}
