using Jobs.Actors.Hosting;

namespace Jobs.Api;

/// <summary>What the HTTP facade reads of the node's settings.</summary>
public sealed record JobsHttpSettings(string Endpoint, long MaxBodySize, TimeSpan ApplyTimeout)
{
    public static JobsHttpSettings From(JobsSettings settings) =>
        new(settings.HttpEndpoint, settings.MaxBodySize, settings.ApplyTimeout);
}
