using Akka.Actor;
using Akka.Configuration;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis;

/// <summary>What the journal, snapshot store and read journal share: their settings, keys and the shared connection.</summary>
public sealed class RedisPlugin
{
    private readonly Task<ConnectionMultiplexer> _connection;

    public RedisPlugin(ActorSystem system, Config config)
    {
        Settings = RedisPluginSettings.Create(config);
        Keys = new RedisKeys(Settings.KeyPrefix);
        _connection = RedisConnections.Get(system).ConnectAsync(Settings.ConfigurationString);
    }

    public RedisPluginSettings Settings { get; }

    public RedisKeys Keys { get; }

    public Task<ConnectionMultiplexer> ConnectionAsync() => _connection;

    public async Task<IDatabase> DatabaseAsync() => (await _connection.ConfigureAwait(false)).GetDatabase(Settings.Database);
}
