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
    : ReadJournalConformanceSpec(PersistenceBackends.Redis(redis), Jobs.Actors.Persistence.Redis.Query.RedisReadJournal.Identifier);

/// <summary>The same journal suite through a connection string with a password: it reaches StackExchange.Redis unchanged.</summary>
public sealed class RedisWithPasswordJournalSpec(PasswordRedisServer redis)
    : JournalConformanceSpec(PersistenceBackends.Redis(redis.Server)), IClassFixture<PasswordRedisServer>;

public sealed class SqliteJournalSpec() : JournalConformanceSpec(PersistenceBackends.Sqlite(PersistenceBackends.TempSqlitePath()));

public sealed class SqliteSnapshotStoreSpec() : SnapshotStoreConformanceSpec(PersistenceBackends.Sqlite(PersistenceBackends.TempSqlitePath()));

public sealed class SqliteReadJournalSpec()
    : ReadJournalConformanceSpec(PersistenceBackends.Sqlite(PersistenceBackends.TempSqlitePath()), "akka.persistence.query.journal.sql");
