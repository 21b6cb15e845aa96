using Akka.Configuration;
using Jobs.Actors.Hosting;

namespace Jobs.Api;

/// <summary>What the HTTP facade reads of the node's settings (<c>jobs.http</c>, see hocon/jobs.conf).</summary>
public sealed record JobsHttpSettings(
    string Endpoint,
    long MaxBodySize,
    TimeSpan ApplyTimeout,
    IReadOnlyList<string> AllowedHosts,
    IReadOnlyList<string> AllowedOrigins,
    TimeSpan MaxWait,
    int MaxConcurrentWaits,
    int MaxEventStreams,
    int MaxChildrenLimit,
    int MaxTreeNodes,
    int MaxConnections,
    int MaxRequestHeadersSize,
    int MaxRequestLineSize,
    TimeSpan HeadersTimeout,
    double MinRequestBodyRate)
{
    public static JobsHttpSettings From(JobsNode node) => From(node.Settings, node.System.Settings.Config);

    public static JobsHttpSettings From(JobsSettings settings, Config config)
    {
        var http = config.GetConfig("jobs.http") ?? Config.Empty;
        return new JobsHttpSettings(
            settings.HttpEndpoint,
            settings.MaxBodySize,
            settings.ApplyTimeout,
            http.GetStringList("allowed-hosts").ToArray(),
            http.GetStringList("allowed-origins").ToArray(),
            http.GetTimeSpan("max-wait", TimeSpan.FromSeconds(300)),
            Math.Max(1, http.GetInt("max-concurrent-waits", 1000)),
            Math.Max(1, http.GetInt("max-event-streams", 100)),
            Math.Max(1, http.GetInt("max-children-limit", 10000)),
            Math.Max(1, http.GetInt("max-tree-nodes", 10000)),
            Math.Max(1, http.GetInt("max-connections", 1000)),
            Math.Max(1024, http.GetInt("max-request-headers-size", 32 * 1024)),
            Math.Max(256, http.GetInt("max-request-line-size", 8 * 1024)),
            http.GetTimeSpan("headers-timeout", TimeSpan.FromSeconds(10)),
            http.GetDouble("min-request-body-rate", 240));
    }
}
