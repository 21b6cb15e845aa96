using Akka.Actor;
using Akka.Configuration;
using Jobs.Actors.Hosting;
using Jobs.Actors.Persistence.Redis;
using Jobs.Actors.Persistence.Redis.Journal;
using StackExchange.Redis;

namespace Jobs.Chaos.Audit;

/// <summary>
/// Reads events straight from Redis, not through the nodes: what the journal holds is the truth the audit judges the
/// cluster by. Everything that knows the journal's layout is here (key names from <see cref="RedisKeys"/>, a list
/// of records per persistence id in its partition, each record read by <see cref="EventRecords"/>), so a new layout changes this class
/// alone.
/// </summary>
public sealed class JournalReader : IAsyncDisposable
{
    private const int Batch = 500;

    private readonly ConnectionMultiplexer _redis;
    private readonly ActorSystem _serialization;
    private readonly EventRecords _records;
    private readonly RedisKeys _keys;

    private JournalReader(ConnectionMultiplexer redis, ActorSystem serialization, string prefix, int partitions)
    {
        _redis = redis;
        _serialization = serialization;
        _records = new EventRecords(serialization);
        _keys = new RedisKeys(prefix, partitions);
    }

    public static async Task<JournalReader> ConnectAsync(string connection, string prefix = "jobs:", int partitions = 1)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(connection);
        // An actor system of its own only to deserialize: the records hold Akka.Persistence envelopes around our events.
        var config = JobsConfig.Load(ConfigurationFactory.ParseString("akka.actor.provider = local\nakka.loglevel = WARNING\njobs.persistence.journal = redis"));
        var system = ActorSystem.Create("chaos-audit", config);
        Akka.Persistence.Persistence.Instance.Apply(system);
        return new JournalReader(redis, system, prefix, partitions);
    }

    /// <summary>The events of each persistence id, oldest first; an id with none is absent.</summary>
    public async Task<Dictionary<string, IReadOnlyList<object>>> EventsAsync(IEnumerable<string> persistenceIds)
    {
        var database = _redis.GetDatabase();
        var events = new Dictionary<string, IReadOnlyList<object>>();
        foreach (var batch in persistenceIds.Chunk(Batch))
        {
            var reads = batch.Select(pid => (pid, database.ListRangeAsync(_keys.Events(pid)))).ToArray();
            foreach (var (pid, read) in reads)
            {
                var records = await read;
                if (records.Length > 0)
                    events[pid] = records.Select(r => _records.FromBinary((byte[])r!).Payload).ToArray();
            }
        }
        return events;
    }

    public async ValueTask DisposeAsync()
    {
        await _redis.DisposeAsync();
        await _serialization.Terminate();
    }
}
