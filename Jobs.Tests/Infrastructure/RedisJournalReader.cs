using Jobs.Actors;
using Jobs.Actors.Persistence.Redis;
using Jobs.Actors.Serialization;
using StackExchange.Redis;

namespace Jobs.Tests.Infrastructure;

/// <summary>Reads which events a task has in the Redis journal, straight from Redis.</summary>
public static class RedisJournalReader
{
    private static readonly string[] EventNames = JobsSerializer.MessageTypes()
        .Where(t => typeof(Jobs.Actors.Tasks.ITaskEvent).IsAssignableFrom(t)).Select(t => t.Name).ToArray();

    /// <summary>
    /// The manifest of each event, in order. A record holds exactly one event, whose manifest (its type name)
    /// is written in it as text, so the record is matched against the known event names.
    /// </summary>
    public static IReadOnlyList<string> Manifests(RedisServer redis, string taskId, string prefix = "jobs:", int partitions = 1)
    {
        using var connection = ConnectionMultiplexer.Connect(redis.ConnectionString);
        var records = connection.GetDatabase().ListRange(new RedisKeys(prefix, partitions).Events($"task-{taskId}"));
        return records.Select(r =>
        {
            var text = System.Text.Encoding.UTF8.GetString((byte[])r!);
            return EventNames.Single(name => text.Contains(name, StringComparison.Ordinal));
        }).ToArray();
    }
}
