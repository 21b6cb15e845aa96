using System.Text;
using Akka.Actor;
using Jobs.Actors.Control;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Tasks;

namespace Jobs.Api;

/// <summary>The node kinds and what each one is by default; a seed given no seeds forms the cluster (Lighthouse's rule).</summary>
public sealed record NodeKind(string Name, IReadOnlyList<string> Roles, int DefaultPort, string? DefaultHttp, bool JoinsSelfWithoutSeeds = false)
{
    public static readonly NodeKind Seed = new("seed", ["seed"], 4053, null, JoinsSelfWithoutSeeds: true);
    public static readonly NodeKind Worker = new("worker", ["worker"], 0, null);
    public static readonly NodeKind Api = new("api", ["api"], 0, "127.0.0.1:5555");
    public static readonly NodeKind Standalone = new("standalone", ["worker", "api"], 4053, "127.0.0.1:5555");
}

/// <summary>
/// Runs a node from its command line: parse options, start the actor system (and the HTTP facade when asked),
/// print where it listens, and stay up until Ctrl-C / SIGTERM, then leave the cluster gracefully.
/// </summary>
public static class NodeHost
{
    public static async Task<int> RunAsync(string[] args, NodeKind kind, Func<NodeOptions, TaskRegistry?>? tasks = null)
    {
        using var tailTrace = TailTraceListener.FromEnvironment();
        NodeOptions options;
        TaskRegistry? registry;
        Akka.Configuration.Config config;
        System.Net.IPAddress cmdAddress;
        IReadOnlyList<string> open;
        try
        {
            options = NodeOptions.Parse(args);
            if (options.Help)
            {
                Console.WriteLine($"Usage: {AppDomain.CurrentDomain.FriendlyName} [options]{Environment.NewLine}{NodeOptions.Usage}");
                return 0;
            }
            if (options.Standalone)
                kind = NodeKind.Standalone;
            var endpoint = options.Http ?? kind.DefaultHttp;
            config = options.ToConfig(kind.Roles, kind.DefaultPort, kind.JoinsSelfWithoutSeeds);
            // Refused before anything starts: no cluster joined, no database file created.
            JobsNode.RequireSharedJournal(config, readsJournal: endpoint is not null);
            cmdAddress = CommandAddress(config.GetString("jobs.commands.host", "127.0.0.1"));
            open = Exposure(options, endpoint, cmdAddress, config);
            if (open.Count > 0 && !options.Insecure)
                throw new OptionException($"refusing to serve {open[0]}; give --insecure to do it anyway");
            registry = tasks?.Invoke(options);
            // HOCON and [Periodic] entries are checked before anything starts: a bad one stops the node, naming it.
            Jobs.Actors.Beat.StaticSchedule.Load(config, registry);
        }
        catch (Exception e) when (e is OptionException or JournalNotSharedException or ArgumentException or DuplicateTaskNameException
                                      or InvalidTaskDefinitionException or FileNotFoundException or BadImageFormatException
                                      or Jobs.Actors.Beat.BeatScheduleException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }

        // The command host listens before the node joins, so a node whose seeds are wrong can be told `cluster join`.
        CommandHost? started = null;
        JobsNode node;
        try
        {
            node = await JobsNode.StartAsync(config, registry, TimeSpan.FromMinutes(5), systemStarted: system =>
            {
                started = StartCommandHost(system, cmdAddress, options.CmdPort, options.AuthToken);
                Console.WriteLine($"ActorJobs {kind.Name} node joining the cluster; commands: {started.Endpoint}");
            });
        }
        catch (Exception e)
        {
            if (started is not null)
                await started.DisposeAsync();
            if (e is Jobs.Actors.Beat.BeatScheduleException)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return 2;
            }
            if (e is not NodeNotUpException)
                throw;
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        await using var commands = started!;
        commands.Attach(node);
        var http = options.Http ?? kind.DefaultHttp;
        WebApplication? web;
        try
        {
            web = http is null ? null : JobsWebApp.Build(node, options.AuthToken);
        }
        catch (MonitorUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            await node.DisposeAsync();
            return 2;
        }
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stopped.TrySetResult();
        };
        AppDomain.CurrentDomain.ProcessExit += (_, _) => stopped.TrySetResult();
        _ = node.System.WhenTerminated.ContinueWith(_ => stopped.TrySetResult(), TaskScheduler.Default);

        if (web is not null)
            await web.StartAsync();
        // Printed once the node serves: a reader may use every address it shows.
        Console.WriteLine(Banner(kind, node, http, commands));
        foreach (var exposed in open)
            await Console.Error.WriteLineAsync($"warning: --insecure: serving {exposed}");
        await stopped.Task;
        if (web is not null)
            await web.StopAsync();
        await node.DisposeAsync();
        return 0;
    }

    /// <summary>
    /// What this node would serve beyond loopback without protection, each as a sentence: remoting without TLS (any peer
    /// that reaches the port could join the cluster or send it messages), HTTP and commands without a token.
    /// </summary>
    public static IReadOnlyList<string> Exposure(NodeOptions options, string? http, System.Net.IPAddress commands, Akka.Configuration.Config config)
    {
        var open = new List<string>();
        var remoting = config.GetString("akka.remote.dot-netty.tcp.hostname", "");
        if (!IsLoopback(remoting) && !config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl", false))
            open.Add($"remoting on '{remoting}' without TLS (akka.remote.dot-netty.tcp.enable-ssl = on, see README's Access section)");
        if (http is not null && !System.Net.IPAddress.IsLoopback(JobsWebApp.ParseEndpoint(http).Address) && options.AuthToken is null)
            open.Add($"HTTP on {http} without --auth-token (or JOBS_AUTH_TOKEN): only loopback is served without one");
        if (!System.Net.IPAddress.IsLoopback(commands) && options.AuthToken is null)
            open.Add($"commands on {commands} without --auth-token (or JOBS_AUTH_TOKEN): only loopback is served without one");
        return open;
    }

    /// <summary>A loopback address, or a name that resolves only to loopback addresses.</summary>
    private static bool IsLoopback(string host)
    {
        if (host == "localhost")
            return true;
        if (System.Net.IPAddress.TryParse(host, out var address))
            return System.Net.IPAddress.IsLoopback(address);
        if (host.Length == 0)
            return false;
        try
        {
            var addresses = System.Net.Dns.GetHostAddresses(host);
            return addresses.Length > 0 && addresses.All(System.Net.IPAddress.IsLoopback);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>The default port when free; a node started beside another on the same machine takes a free one.</summary>
    private static CommandHost StartCommandHost(Akka.Actor.ActorSystem system, System.Net.IPAddress address, int? port, string? token)
    {
        try
        {
            return CommandHost.Start(system, address, port ?? CommandHost.DefaultPort, token);
        }
        catch (System.Net.Sockets.SocketException) when (port is null)
        {
            return CommandHost.Start(system, address, 0, token);
        }
    }

    private static System.Net.IPAddress CommandAddress(string host) =>
        host == "localhost" ? System.Net.IPAddress.Loopback
        : System.Net.IPAddress.TryParse(host, out var address) ? address
        : throw new OptionException($"--cmd-host must be an IP address (or localhost), not '{host}'");

    private static string Banner(NodeKind kind, JobsNode node, string? http, CommandHost commands)
    {
        var text = new StringBuilder();
        text.AppendLine($"ActorJobs {kind.Name} node {node.Hostname}");
        text.AppendLine($"  cluster:  {node.Address}  roles: {string.Join(",", Akka.Cluster.Cluster.Get(node.System).SelfRoles)}");
        text.AppendLine($"  journal:  {Journal(node, servesHttp: http is not null)}");
        if (http is not null)
        {
            text.AppendLine($"  http:     http://{http}  (Flower API, /openapi/v1.json)");
            text.AppendLine($"  index:    {node.Settings.Monitoring.IndexPath}  (the monitor's task index)");
        }
        text.AppendLine($"  commands: {commands.Endpoint}  (jobs {commands.Endpoint} cluster show)");
        if (node.Worker is not null)
            text.AppendLine($"  worker:   concurrency {node.Settings.Concurrency}, prefetch {node.Settings.Prefetch}, queues {string.Join(",", node.Settings.Queues)}");
        if (node.Registry is not null)
        {
            text.AppendLine("[tasks]");
            foreach (var task in node.Registry.Tasks)
                text.AppendLine($"  . {task.Name}");
        }
        return text.ToString();
    }

    /// <summary>Where the node keeps task state: the absolute path of its SQLite file, or the Redis it shares.</summary>
    private static string Journal(JobsNode node, bool servesHttp)
    {
        var config = node.System.Settings.Config;
        if (!servesHttp && !Akka.Cluster.Cluster.Get(node.System).SelfRoles.Contains(node.Settings.ShardRole))
            return "none (no shards and no monitor here: the workers keep task state)";
        return node.Settings.Journal == "redis"
            ? $"redis {System.Text.RegularExpressions.Regex.Replace(config.GetString("akka.persistence.journal.redis.configuration-string"), "password=[^,]*", "password=***")}"
            : $"sqlite {Path.GetFullPath(config.GetString("jobs.persistence.sqlite.path", "./data/jobs.db"))}";
    }
}
