using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Persistence;

// The same suites against each backend: the Redis plugin (a real redis-server) and the SQLite default.

[Collection(RedisCollection.Name)]
public sealed class RedisJournalSpec(RedisServer redis) : JournalConformanceSpec(PersistenceBackends.Redis(redis));

[Collection(RedisCollection.Name)]
public sealed class RedisSnapshotStoreSpec(RedisServer redis) : SnapshotStoreConformanceSpec(PersistenceBackends.Redis(redis));

[Collection(RedisCollection.Name)]
public sealed class RedisReadJournalSpec(RedisServer redis)
    : ReadJournalConformanceSpec(PersistenceBackends.Redis(redis), Jobs.Actors.Persistence.Redis.Query.RedisReadJournal.Identifier, listsTagEntries: true);

// The same suites with the journal spread over 4 partitions (4 hash tags, as on a Redis Cluster).

[Collection(RedisCollection.Name)]
public sealed class RedisPartitionedJournalSpec(RedisServer redis) : JournalConformanceSpec(PersistenceBackends.Redis(redis, partitions: 4));

[Collection(RedisCollection.Name)]
public sealed class RedisPartitionedSnapshotStoreSpec(RedisServer redis) : SnapshotStoreConformanceSpec(PersistenceBackends.Redis(redis, partitions: 4));

[Collection(RedisCollection.Name)]
public sealed class RedisPartitionedReadJournalSpec(RedisServer redis)
    : ReadJournalConformanceSpec(PersistenceBackends.Redis(redis, partitions: 4), Jobs.Actors.Persistence.Redis.Query.RedisReadJournal.Identifier,
        tagOrderAcrossIds: false, listsTagEntries: true);

/// <summary>The same journal suite through a connection string with a password: it reaches StackExchange.Redis unchanged.</summary>
public sealed class RedisWithPasswordJournalSpec(PasswordRedisServer redis)
    : JournalConformanceSpec(PersistenceBackends.Redis(redis.Server)), IClassFixture<PasswordRedisServer>;

public sealed class SqliteJournalSpec() : JournalConformanceSpec(PersistenceBackends.Sqlite(PersistenceBackends.TempSqlitePath()));

public sealed class SqliteSnapshotStoreSpec() : SnapshotStoreConformanceSpec(PersistenceBackends.Sqlite(PersistenceBackends.TempSqlitePath()));

public sealed class SqliteReadJournalSpec()
    : ReadJournalConformanceSpec(PersistenceBackends.Sqlite(PersistenceBackends.TempSqlitePath()), "akka.persistence.query.journal.sql");
