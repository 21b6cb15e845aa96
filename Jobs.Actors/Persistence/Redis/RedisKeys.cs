using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis;

/// <summary>
/// Every Redis key and channel the plugin uses, in one place. With the default prefix <c>jobs:</c>:
/// <code>
/// jobs:j:{pid}      sorted set   one member per event, score = sequence number (payload: see EventRecord)
/// jobs:jh:{pid}     string       highest sequence number ever written; kept when events are deleted
/// jobs:ids          set          every persistence id (dedupe for jobs:idlog)
/// jobs:idlog        list         persistence ids in order of first write (offset of PersistenceIds queries)
/// jobs:tag:{tag}    list         "{sequenceNr}:{pid}" per tagged event, in write order (offset = list index)
/// jobs:s:{pid}      sorted set   snapshots, score = sequence number (payload: see SnapshotRecord)
/// jobs:events       pub/sub      "{pid}" after each write, so live queries wake instead of polling
/// </code>
/// Persistence ids and tags are used verbatim inside keys; Redis keys are binary safe.
/// </summary>
public sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    public RedisKey Events(string persistenceId) => Prefix + "j:" + persistenceId;

    public RedisKey Highest(string persistenceId) => Prefix + "jh:" + persistenceId;

    public RedisKey PersistenceIds => Prefix + "ids";

    public RedisKey PersistenceIdLog => Prefix + "idlog";

    public RedisKey Tag(string tag) => Prefix + "tag:" + tag;

    public RedisKey Snapshots(string persistenceId) => Prefix + "s:" + persistenceId;

    public RedisChannel Notifications => RedisChannel.Literal(Prefix + "events");
}
