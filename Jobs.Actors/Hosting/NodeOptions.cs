using System.Text;
using Akka.Configuration;

namespace Jobs.Actors.Hosting;

/// <summary>
/// The command-line options every node kind shares, also read from <c>JOBS_*</c> environment variables, and
/// rendered as HOCON in front of the files of <c>hocon/</c>: one source of truth, with options on top.
/// </summary>
public sealed record NodeOptions
{
    public bool Standalone { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    public int? Port { get; init; }
    public IReadOnlyList<string> Seeds { get; init; } = [];
    public IReadOnlyList<string> Roles { get; init; } = [];
    public string? Http { get; init; }

    /// <summary>The command host's port on loopback; null means 9110, or a free port when 9110 is taken.</summary>
    public int? CmdPort { get; init; }

    /// <summary>The command host's address (jobs.commands.host, loopback by default); beyond loopback a token is required.</summary>
    public string? CmdHost { get; init; }

    /// <summary>Required of HTTP clients (and CLI requests) when set; mandatory when HTTP is served beyond loopback.</summary>
    public string? AuthToken { get; init; }

    /// <summary>
    /// Serve beyond loopback without protection anyway: remoting without TLS, HTTP and commands without a token. Every
    /// such refusal is lifted and the banner says what is left open.
    /// </summary>
    public bool Insecure { get; init; }
    public string? Journal { get; init; }
    public string? Redis { get; init; }
    public string? DataPath { get; init; }
    public int? Concurrency { get; init; }
    public int? Prefetch { get; init; }
    public IReadOnlyList<string> Queues { get; init; } = [];
    public IReadOnlyList<string> TaskAssemblies { get; init; } = [];
    public string? Hostname { get; init; }
    public IReadOnlyList<string> ConfigFiles { get; init; } = [];

    /// <summary>Akka's <c>akka.loglevel</c> (DEBUG, INFO, WARNING or ERROR), from Celery's <c>--loglevel</c> names; null keeps hocon/'s INFO.</summary>
    public string? LogLevel { get; init; }
    public bool Help { get; init; }

    public const string Usage = """
        Options (every one also as an environment variable, e.g. --seeds as JOBS_SEEDS, --port as JOBS_PORT):
          --standalone           seed, worker and HTTP facade in one process (journal ./data/jobs.db)
          --host HOST            address to bind and advertise for remoting (default 127.0.0.1)
          --port N               remoting port; 0 takes a free port (default 4053 seed/standalone, 0 otherwise)
          --seeds ADDR[,ADDR]    seed nodes, e.g. akka.tcp://jobs@127.0.0.1:4053 (repeatable); a seed given none forms the cluster
          --roles R[,R]          extra cluster roles
          --http HOST:PORT       serve the HTTP facade here (default 127.0.0.1:5555 for api/standalone)
          --auth-token TOKEN     required of HTTP and CLI requests (JOBS_AUTH_TOKEN); mandatory for non-loopback --http
          --cmd-port N           the command host for the jobs CLI (default 9110; 0 takes a free port)
          --cmd-host ADDR        the command host's address (default 127.0.0.1); others need --auth-token
          --insecure             serve beyond loopback unprotected anyway: remoting without TLS, HTTP and commands
                                 without a token (JOBS_INSECURE=1); refused otherwise
          --journal sqlite|redis where task state is journaled (default sqlite, for --standalone; workers and api
                                 nodes of a cluster need redis; a seed reads no journal)
          --redis HOST:PORT      Redis for --journal redis (a StackExchange.Redis configuration string)
          --data PATH            SQLite file for --journal sqlite (default ./data/jobs.db, from the directory started in)
          --concurrency N        task bodies run at once (default: cores)
          --prefetch N           tasks held ready beyond the running ones (default 4)
          --queues Q[,Q]         queues this worker consumes (default: default)
          --tasks PATH.dll       load more [JobsTask] methods from an assembly (repeatable)
          --hostname NAME        worker name in results and events
          --config FILE.conf     more HOCON, on top of hocon/ (repeatable)
          --loglevel LEVEL       debug, info (default), warning, error; critical and fatal log as error (Celery's -l)
        """;

    public static NodeOptions Parse(IReadOnlyList<string> args, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var options = FromEnvironment(environment);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value()
            {
                if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    throw new OptionException($"{arg} needs a value");
                return args[++i];
            }

            options = arg switch
            {
                "--standalone" => options with { Standalone = true },
                "--help" or "-h" => options with { Help = true },
                "--host" => options with { Host = Value() },
                "--port" => options with { Port = Int(arg, Value(), min: 0) },
                "--seeds" or "--seed" => options with { Seeds = [.. options.Seeds, .. List(Value())] },
                "--roles" => options with { Roles = [.. options.Roles, .. List(Value())] },
                "--http" => options with { Http = Value() },
                "--auth-token" => options with { AuthToken = Value() },
                "--insecure" => options with { Insecure = true },
                "--cmd-port" => options with { CmdPort = Int(arg, Value(), min: 0) },
                "--cmd-host" => options with { CmdHost = Value() },
                "--journal" => options with { Journal = JournalName(Value()) },
                "--redis" => options with { Redis = Value() },
                "--data" => options with { DataPath = Value() },
                "--concurrency" => options with { Concurrency = Int(arg, Value(), min: 1) },
                "--prefetch" => options with { Prefetch = Int(arg, Value(), min: 0) },
                "--queues" => options with { Queues = [.. options.Queues, .. List(Value())] },
                "--tasks" => options with { TaskAssemblies = [.. options.TaskAssemblies, Value()] },
                "--hostname" => options with { Hostname = Value() },
                "--config" => options with { ConfigFiles = [.. options.ConfigFiles, Value()] },
                "--loglevel" or "-l" => options with { LogLevel = LogLevelName(arg, Value()) },
                _ => throw new OptionException($"unknown option '{arg}'"),
            };
        }
        if (options.Journal == "redis" && options.Redis is null)
            throw new OptionException("--journal redis needs --redis HOST:PORT");
        return options;
    }

    private static NodeOptions FromEnvironment(Func<string, string?> env)
    {
        var options = new NodeOptions();
        if (env("JOBS_HOST") is { Length: > 0 } host) options = options with { Host = host };
        if (env("JOBS_PORT") is { Length: > 0 } port) options = options with { Port = Int("JOBS_PORT", port, min: 0) };
        if (env("JOBS_SEEDS") is { Length: > 0 } seeds) options = options with { Seeds = List(seeds) };
        if (env("JOBS_ROLES") is { Length: > 0 } roles) options = options with { Roles = List(roles) };
        if (env("JOBS_HTTP") is { Length: > 0 } http) options = options with { Http = http };
        if (env("JOBS_AUTH_TOKEN") is { Length: > 0 } token) options = options with { AuthToken = token };
        if (env("JOBS_INSECURE") is "1" or "true" or "yes") options = options with { Insecure = true };
        if (env("JOBS_CMD_PORT") is { Length: > 0 } cmd) options = options with { CmdPort = Int("JOBS_CMD_PORT", cmd, min: 0) };
        if (env("JOBS_CMD_HOST") is { Length: > 0 } cmdHost) options = options with { CmdHost = cmdHost };
        if (env("JOBS_JOURNAL") is { Length: > 0 } journal) options = options with { Journal = JournalName(journal) };
        if (env("JOBS_REDIS") is { Length: > 0 } redis) options = options with { Redis = redis };
        if (env("JOBS_DATA") is { Length: > 0 } data) options = options with { DataPath = data };
        if (env("JOBS_CONCURRENCY") is { Length: > 0 } c) options = options with { Concurrency = Int("JOBS_CONCURRENCY", c, min: 1) };
        if (env("JOBS_PREFETCH") is { Length: > 0 } p) options = options with { Prefetch = Int("JOBS_PREFETCH", p, min: 0) };
        if (env("JOBS_QUEUES") is { Length: > 0 } queues) options = options with { Queues = List(queues) };
        if (env("JOBS_HOSTNAME") is { Length: > 0 } hostname) options = options with { Hostname = hostname };
        if (env("JOBS_LOGLEVEL") is { Length: > 0 } level) options = options with { LogLevel = LogLevelName("JOBS_LOGLEVEL", level) };
        return options;
    }

    /// <summary>
    /// The HOCON these options stand for. <paramref name="kindRoles"/> are the roles of the node kind
    /// (standalone: worker and api), <paramref name="defaultPort"/> its remoting port unless told otherwise;
    /// <paramref name="joinSelfWithoutSeeds"/>: given no seeds, the node forms a cluster of itself (a seed node).
    /// </summary>
    public Config ToConfig(IReadOnlyList<string> kindRoles, int defaultPort, bool joinSelfWithoutSeeds = false)
    {
        var port = Port ?? defaultPort;
        var seeds = Seeds;
        var roles = kindRoles.Concat(Roles).Distinct().ToArray();
        var hocon = new StringBuilder();
        hocon.AppendLine($"akka.remote.dot-netty.tcp.hostname = {JobsConfig.Quote(Host)}");
        hocon.AppendLine($"akka.remote.dot-netty.tcp.port = {port}");
        hocon.AppendLine($"akka.cluster.seed-nodes = [{string.Join(", ", seeds.Select(JobsConfig.Quote))}]");
        hocon.AppendLine($"akka.cluster.roles = [{string.Join(", ", roles.Select(JobsConfig.Quote))}]");
        // A standalone node, or a seed told of no other seed, forms a cluster of itself at whatever port it was given
        // (0 included), as Lighthouse does; given seeds, Akka's rule holds: the first seed listed forms the cluster.
        if ((Standalone || joinSelfWithoutSeeds) && Seeds.Count == 0)
            hocon.AppendLine("jobs.cluster.join-self = on");
        if (Http is not null) hocon.AppendLine($"jobs.http.endpoint = {JobsConfig.Quote(Http)}");
        if (CmdHost is not null) hocon.AppendLine($"jobs.commands.host = {JobsConfig.Quote(CmdHost)}");
        if (Journal is not null) hocon.AppendLine($"jobs.persistence.journal = {Journal}");
        if (Redis is not null)
        {
            hocon.AppendLine($"akka.persistence.journal.redis.configuration-string = {JobsConfig.Quote(Redis)}");
            hocon.AppendLine($"akka.persistence.snapshot-store.redis.configuration-string = {JobsConfig.Quote(Redis)}");
            hocon.AppendLine($"akka.persistence.query.journal.redis.configuration-string = {JobsConfig.Quote(Redis)}");
        }
        if (DataPath is not null) hocon.AppendLine($"jobs.persistence.sqlite.path = {JobsConfig.Quote(DataPath)}");
        if (Concurrency is not null) hocon.AppendLine($"jobs.worker.concurrency = {Concurrency}");
        if (Prefetch is not null) hocon.AppendLine($"jobs.worker.prefetch = {Prefetch}");
        if (Queues.Count > 0) hocon.AppendLine($"jobs.worker.queues = [{string.Join(", ", Queues.Select(JobsConfig.Quote))}]");
        if (Hostname is not null) hocon.AppendLine($"jobs.worker.hostname = {JobsConfig.Quote(Hostname)}");
        if (LogLevel is not null) hocon.AppendLine($"akka.loglevel = {LogLevel}");

        var config = ConfigurationFactory.ParseString(hocon.ToString());
        foreach (var file in ConfigFiles)
        {
            if (!File.Exists(file))
                throw new OptionException($"--config {file}: no such file");
            config = config.WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(file)));
        }
        return JobsConfig.Load(config);
    }

    private static IReadOnlyList<string> List(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static int Int(string name, string value, int min) =>
        int.TryParse(value, out var n) && n >= min ? n : throw new OptionException($"{name} must be a whole number >= {min}, not '{value}'");

    /// <summary>Celery's level names (any case) as Akka's; Akka has nothing above ERROR, so CRITICAL and FATAL are ERROR.</summary>
    private static string LogLevelName(string name, string value) => value.ToUpperInvariant() switch
    {
        "DEBUG" => "DEBUG",
        "INFO" => "INFO",
        "WARNING" or "WARN" => "WARNING",
        "ERROR" or "CRITICAL" or "FATAL" => "ERROR",
        _ => throw new OptionException($"{name} must be debug, info, warning, error, critical or fatal, not '{value}'"),
    };

    private static string JournalName(string value) =>
        value is "sqlite" or "redis" ? value : throw new OptionException($"--journal must be sqlite or redis, not '{value}'");
}

/// <summary>A command line that cannot be used; the message says why.</summary>
public sealed class OptionException(string message) : Exception(message);
