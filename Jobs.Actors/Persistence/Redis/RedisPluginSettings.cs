using Akka.Configuration;

namespace Jobs.Actors.Persistence.Redis;

/// <summary>What the journal, snapshot store and read journal read from their HOCON section.</summary>
public sealed record RedisPluginSettings(
    string ConfigurationString, int Database, string KeyPrefix, int Partitions, int ReplayPageSize, TimeSpan RefreshInterval)
{
    public static RedisPluginSettings Create(Config config) => new(
        config.GetString("configuration-string", "127.0.0.1:6379"),
        config.GetInt("database", 0),
        config.GetString("key-prefix", "jobs:"),
        config.GetInt("partitions", 1),
        config.GetInt("replay-page-size", 1000),
        config.GetTimeSpan("refresh-interval", TimeSpan.FromSeconds(3)));
}
