using Akka.Cluster;
using Jobs.Actors.Hosting;

namespace Jobs.Api;

/// <summary>The cluster as this node sees it: members, their status and roles, the leader and who is unreachable.</summary>
public static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/cluster", (JobsNode node) => Results.Json(Jobs.Actors.Control.ClusterView.Describe(Cluster.Get(node.System))))
            .WithTags("cluster")
            .WithSummary("Cluster members as this node sees them");
        return app;
    }
}
