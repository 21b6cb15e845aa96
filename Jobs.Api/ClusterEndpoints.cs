using Akka.Cluster;
using Jobs.Actors.Control;
using Jobs.Actors.Hosting;

namespace Jobs.Api;

/// <summary>The cluster as this node sees it: members, their status and roles, the leader and who is unreachable.</summary>
public static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapClusterEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/cluster", (JobsNode node) => Results.Json(ClusterView.Describe(Cluster.Get(node.System))))
            .WithTags("cluster")
            .WithSummary("Cluster members as this node sees them");
        app.MapGet("/api/cluster/shards", async (JobsNode node) => Results.Json(await ShardingView.ByNodeAsync(node, TimeSpan.FromSeconds(5))))
            .WithTags("cluster")
            .WithSummary("Shards and entities of each type (task, queue, canvas) hosted by each node");
        return app;
    }
}
