using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Persistence.Sql.Config;
using Akka.Serialization;
using Jobs.Actors.Hosting;
using Jobs.Actors.Persistence.Sqlite;
using Jobs.Tests.Infrastructure;
using LinqToDB;
using LinqToDB.Interceptors;

namespace Jobs.Tests.Persistence;

/// <summary>The configurations the conformance suites run against: the Redis plugin and the SQLite default.</summary>
public static class PersistenceBackends
{
    private static readonly Config Common = ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        # The first write to a new journal file creates its tables, and a loaded machine syncs slowly: 3 s is too tight.
        akka.test.single-expect-default = 10s
        akka.actor.serializers.failing = "Jobs.Tests.Persistence.FailingSerializer, Jobs.Tests"
        akka.actor.serialization-bindings { "Jobs.Tests.Persistence.NotSerializable, Jobs.Tests" = failing }
        akka.actor.serialization-identifiers { "Jobs.Tests.Persistence.FailingSerializer, Jobs.Tests" = 9901 }
        """);

    /// <summary>The Redis plugin under its own key prefix (a fresh one when none is given), with small pages so paging is exercised.</summary>
    public static Config Redis(RedisServer redis, string? keyPrefix = null, int partitions = 1)
    {
        var prefix = keyPrefix ?? NewPrefix();
        return ConfigurationFactory.ParseString($"""
        akka.persistence.journal.plugin = "akka.persistence.journal.redis"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.redis"
        akka.persistence.journal.redis.configuration-string = "{redis.ConnectionString}"
        akka.persistence.snapshot-store.redis.configuration-string = "{redis.ConnectionString}"
        akka.persistence.query.journal.redis.configuration-string = "{redis.ConnectionString}"
        akka.persistence.journal.redis.key-prefix = "{prefix}"
        akka.persistence.snapshot-store.redis.key-prefix = "{prefix}"
        akka.persistence.query.journal.redis.key-prefix = "{prefix}"
        akka.persistence.journal.redis.replay-page-size = 3
        akka.persistence.query.journal.redis.replay-page-size = 3
        akka.persistence.journal.redis.partitions = {partitions}
        akka.persistence.snapshot-store.redis.partitions = {partitions}
        akka.persistence.query.journal.redis.partitions = {partitions}
        """).WithFallback(Common).WithFallback(JobsConfig.Embedded("persistence-redis.conf"));
    }

    public static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..8] + ":";

    public static Config Sqlite(string path)
    {
        var connection = JobsConfig.Quote($"Data Source={path}");
        return ConfigurationFactory.ParseString($"""
            jobs.persistence.sqlite.path = {JobsConfig.Quote(path)}
            akka.persistence.journal.sql.connection-string = {connection}
            akka.persistence.snapshot-store.sql.connection-string = {connection}
            akka.persistence.query.journal.sql.connection-string = {connection}
            akka.persistence.query.journal.sql.refresh-interval = 200ms
            """).WithFallback(Common).WithFallback(JobsConfig.Embedded("persistence-sqlite.conf"));
    }

    /// <summary>
    /// The actor system setup of a suite, as a node makes it (JobsNode): on the SQLite journal, its file prepared and the
    /// plugin given the node's data options (busy timeout, tag reads by key: <see cref="SqliteJournalFile"/>), and
    /// <paramref name="spy"/> behind them when given (it sees every command as it runs).
    /// </summary>
    public static ActorSystemSetup Setup(Config config, IInterceptor? spy = null)
    {
        var bootstrap = BootstrapSetup.Create().WithConfig(config);
        if (config.GetString("akka.persistence.journal.plugin", "") != "akka.persistence.journal.sql")
            return ActorSystemSetup.Create(bootstrap);
        SqliteJournalFile.Prepare(config);
        var options = SqliteJournalFile.PluginDataOptions(config);
        return bootstrap.And(new DataOptionsSetup(spy is null ? options : options.UseInterceptor(spy)));
    }

    public static string TempSqlitePath() => Path.Combine(Path.GetTempPath(), "jobs-journal-" + Guid.NewGuid().ToString("N")[..12] + ".db");
}

/// <summary>A payload no serializer can write, to prove a rejection stays with its own write.</summary>
public sealed record NotSerializable(string Text);

public sealed class FailingSerializer(Akka.Actor.ExtendedActorSystem system) : Serializer(system)
{
    public override int Identifier => 9901;
    public override bool IncludeManifest => false;
    public override byte[] ToBinary(object obj) => throw new InvalidOperationException($"{obj.GetType().Name} cannot be serialized");
    public override object FromBinary(byte[] bytes, Type? type) => throw new InvalidOperationException("never written");
}
