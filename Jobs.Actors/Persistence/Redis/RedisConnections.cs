using System.Collections.Concurrent;
using Akka.Actor;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis;

/// <summary>
/// One shared multiplexer per configuration string per actor system: journal, snapshot store and read journal
/// pipeline their commands over the same connection instead of each opening its own.
/// </summary>
public sealed class RedisConnections : IExtension
{
    private readonly ConcurrentDictionary<string, Lazy<Task<ConnectionMultiplexer>>> _connections = new();

    public static RedisConnections Get(ActorSystem system) => system.WithExtension<RedisConnections, RedisConnectionsProvider>();

    /// <summary>
    /// The connection for <paramref name="configuration"/> (a StackExchange.Redis configuration string: host:port,
    /// password=…, ssl=true, …). It is not aborted when Redis is down at start, and while Redis is unreachable
    /// commands fail at once instead of waiting in a backlog, so the journal reports write failures promptly.
    /// </summary>
    public Task<ConnectionMultiplexer> ConnectAsync(string configuration) =>
        _connections.GetOrAdd(configuration, c => new Lazy<Task<ConnectionMultiplexer>>(() => Open(c))).Value;

    private static Task<ConnectionMultiplexer> Open(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return ConnectionMultiplexer.ConnectAsync(options);
    }

    internal void DisposeAll()
    {
        foreach (var connection in _connections.Values.Where(c => c.IsValueCreated && c.Value.IsCompletedSuccessfully))
            connection.Value.GetAwaiter().GetResult().Dispose();
    }
}

public sealed class RedisConnectionsProvider : ExtensionIdProvider<RedisConnections>
{
    public override RedisConnections CreateExtension(ExtendedActorSystem system)
    {
        var connections = new RedisConnections();
        system.RegisterOnTermination(connections.DisposeAll);
        return connections;
    }
}
