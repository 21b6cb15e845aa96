using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Abuse;

/// <summary>
/// A standalone node for the abuse specs (fuzzing, floods, limits), apart from the node the other HTTP specs share:
/// what they send may exhaust its limits, which are set low here so a spec reaches them quickly.
/// </summary>
public sealed class AbuseNodeFixture : IAsyncLifetime
{
    public const string Limits = """
        jobs.http.max-concurrent-waits = 4
        jobs.http.max-event-streams = 3
        jobs.http.max-connections = 500
        jobs.http.headers-timeout = 2s
        jobs.commands.max-connections = 8
        jobs.commands.max-line-length = 65536
        """;

    private static readonly string ConfigFile = WriteConfig();

    public StandaloneNode Node { get; } = new("--config", ConfigFile);

    public Task InitializeAsync() => Node.StartAsync();

    public Task DisposeAsync() => Node.DisposeAsync().AsTask();

    private static string WriteConfig()
    {
        var path = Path.Combine(Path.GetTempPath(), "jobs-abuse-" + Guid.NewGuid().ToString("N")[..8] + ".conf");
        File.WriteAllText(path, Limits);
        return path;
    }
}

[CollectionDefinition(Name)]
public sealed class AbuseNodeCollection : ICollectionFixture<AbuseNodeFixture>
{
    public const string Name = "abuse node";
}
