using Akka.Configuration;

namespace Jobs.Actors.Hosting;

/// <summary>
/// Composes a node's configuration: options rendered as HOCON first, then the files of <c>hocon/</c> (embedded in
/// this assembly), then the journal chosen by <c>jobs.persistence.journal</c> wired in behind one switch.
/// </summary>
public static class JobsConfig
{
    /// <summary>Load order of the embedded files; later files are fallbacks of earlier ones.</summary>
    private static readonly string[] Files =
        ["akka.conf", "serialization.conf", "sharding.conf", "jobs.conf", "beat.conf", "monitoring.conf", "retention.conf", "persistence-sqlite.conf", "persistence-redis.conf"];

    public static Config Defaults()
    {
        var config = Config.Empty;
        foreach (var file in Files)
        {
            var text = ReadEmbedded(file);
            if (text is not null)
                config = config.WithFallback(ConfigurationFactory.ParseString(text));
        }
        return config;
    }

    /// <summary>One file of <c>hocon/</c>, e.g. <c>persistence-redis.conf</c>.</summary>
    public static Config Embedded(string file) =>
        ConfigurationFactory.ParseString(ReadEmbedded(file) ?? throw new ArgumentException($"hocon/{file} is not embedded", nameof(file)));

    /// <summary>The full configuration for a node, with <paramref name="overrides"/> taking precedence.</summary>
    public static Config Load(Config? overrides = null)
    {
        var config = (overrides ?? Config.Empty).WithFallback(Defaults());
        return WithJournal(config);
    }

    private static Config WithJournal(Config config)
    {
        var journal = config.GetString("jobs.persistence.journal", "sqlite");
        switch (journal)
        {
            case "sqlite":
                var connection = Quote($"Data Source={Persistence.Sqlite.SqliteJournalFile.PathOf(config)};Pooling=True");
                return ConfigurationFactory.ParseString($$"""
                    akka.persistence.journal.plugin = "akka.persistence.journal.sql"
                    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.sql"
                    akka.persistence.journal.sql.connection-string = {{connection}}
                    akka.persistence.snapshot-store.sql.connection-string = {{connection}}
                    akka.persistence.query.journal.sql.connection-string = {{connection}}
                    """).WithFallback(config);
            case "redis":
                return ConfigurationFactory.ParseString("""
                    akka.persistence.journal.plugin = "akka.persistence.journal.redis"
                    akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.redis"
                    """).WithFallback(config);
            default:
                throw new ConfigurationException($"jobs.persistence.journal must be 'sqlite' or 'redis', not '{journal}'");
        }
    }

    /// <summary>A HOCON string literal, for values that come from users.</summary>
    public static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string? ReadEmbedded(string file)
    {
        using var stream = typeof(JobsConfig).Assembly.GetManifestResourceStream("hocon/" + file);
        if (stream is null)
            return null;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
