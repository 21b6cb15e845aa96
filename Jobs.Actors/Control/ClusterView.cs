using System.Text.Json.Nodes;
using Akka.Cluster;

namespace Jobs.Actors.Control;

/// <summary>The cluster as this node sees it: members, their status and roles, the leader and who is unreachable.</summary>
public static class ClusterView
{
    public static JsonObject Describe(Cluster cluster)
    {
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = new JsonArray();
        foreach (var member in state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal))
        {
            members.Add(new JsonObject
            {
                ["address"] = member.Address.ToString(),
                ["status"] = member.Status.ToString(),
                ["roles"] = new JsonArray(member.Roles.Order().Select(r => (JsonNode?)JsonValue.Create(r)).ToArray()),
                ["reachable"] = !unreachable.Contains(member.Address),
            });
        }
        return new JsonObject
        {
            ["self"] = cluster.SelfAddress.ToString(),
            ["leader"] = state.Leader?.ToString(),
            ["members"] = members,
        };
    }
}
