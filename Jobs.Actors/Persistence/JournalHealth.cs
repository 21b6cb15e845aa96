using Akka.Actor;
using Jobs.Actors.Persistence.Redis;

namespace Jobs.Actors.Persistence;

/// <summary>
/// Whether the journal can take writes right now, so a submission can be refused at once with the reason
/// rather than wait in a shard region's buffer until the journal comes back.
/// </summary>
public abstract class JournalHealth
{
    /// <summary>Null when writes can be attempted; otherwise why not.</summary>
    public abstract string? Problem { get; }

    public static JournalHealth For(ActorSystem system)
    {
        var config = system.Settings.Config;
        if (config.GetString("jobs.persistence.journal", "sqlite") != "redis")
            return new Embedded();
        var connection = config.GetString("akka.persistence.journal.redis.configuration-string");
        return new RedisJournalHealth(RedisConnections.Get(system).ConnectAsync(connection), connection);
    }

    /// <summary>The embedded journal is a file beside the node: if the node runs, so does its journal.</summary>
    private sealed class Embedded : JournalHealth
    {
        public override string? Problem => null;
    }

    private sealed class RedisJournalHealth(Task<StackExchange.Redis.ConnectionMultiplexer> connection, string where) : JournalHealth
    {
        // While the first connection is still being made, writes are attempted (and fail on their own if need be).
        public override string? Problem =>
            connection.IsCompleted && !(connection.IsCompletedSuccessfully && connection.GetAwaiter().GetResult().IsConnected)
                ? $"the journal (Redis at {where}) is unreachable"
                : null;
    }
}
