using Akka.Actor;
using Akka.Configuration;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis;

/// <summary>
/// What the journal, snapshot store and read journal share: their settings, keys and the shared connection, and
/// the check that the Redis they are given holds this layout (or nothing yet) before anything is read or written.
/// </summary>
public sealed class RedisPlugin
{
    private readonly Task<ConnectionMultiplexer> _connection;
    private readonly object _gate = new();
    private Task<IDatabase>? _ready;

    public RedisPlugin(ActorSystem system, Config config)
    {
        Settings = RedisPluginSettings.Create(config);
        Keys = new RedisKeys(Settings.KeyPrefix, Settings.Partitions);
        _connection = RedisConnections.Get(system).ConnectAsync(Settings.ConfigurationString);
    }

    public RedisPluginSettings Settings { get; }

    public RedisKeys Keys { get; }

    public Task<ConnectionMultiplexer> ConnectionAsync() => _connection;

    /// <summary>
    /// The database once its layout has been checked. A check that could not reach Redis is tried again on the next
    /// call; a journal of another layout or partition count fails every call with <see cref="RedisLayoutException"/>.
    /// </summary>
    public Task<IDatabase> DatabaseAsync()
    {
        var ready = _ready;
        if (ready is { IsCompletedSuccessfully: true })
            return ready;
        lock (_gate)
        {
            if (_ready is null || (_ready.IsFaulted && _ready.Exception?.InnerException is not RedisLayoutException) || _ready.IsCanceled)
                _ready = CheckLayoutAsync();
            return _ready;
        }
    }

    private async Task<IDatabase> CheckLayoutAsync()
    {
        var database = (await _connection.ConfigureAwait(false)).GetDatabase(Settings.Database);
        // One key per command: on Redis Cluster these keys live in different slots.
        var firstLayout = await Task.WhenAll(Keys.FirstLayoutKeys.Select(key => database.KeyExistsAsync(key))).ConfigureAwait(false);
        if (firstLayout.Any(exists => exists))
            throw new RedisLayoutException(
                $"Redis database {Settings.Database} holds a journal of ActorJobs' first layout under the prefix '{Keys.Prefix}' " +
                $"({string.Join(" or ", Keys.FirstLayoutKeys)} exists), which this version cannot read; start on an empty database " +
                "or another key-prefix (the README says how). Nothing was read or written.");
        var stored = await database.StringSetAndGetAsync(Keys.Layout, Keys.LayoutDescription, when: When.NotExists).ConfigureAwait(false);
        if (stored.HasValue && stored != Keys.LayoutDescription)
            throw new RedisLayoutException(
                $"the Redis journal under the prefix '{Keys.Prefix}' was written with layout '{stored}', and this node is configured for " +
                $"'{Keys.LayoutDescription}'; partitions are fixed for the life of a journal (set the same partitions in the journal, " +
                "snapshot-store and query sections). Nothing was read or written.");
        return database;
    }
}

/// <summary>The Redis this plugin was pointed at holds a journal it must not read or write.</summary>
public sealed class RedisLayoutException(string message) : Exception(message);
