using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Jobs.Actors.Hosting;
using StackExchange.Redis;

namespace Jobs.Bench;

/// <summary>
/// Events persisted per second through the Redis journal with 1, 10 and 100 persistent actors persisting one
/// event at a time (as task entities do), next to redis-benchmark's pipelined RPUSH on the same server, then the same
/// through Akka's in-memory journal (the floor of the client side; <c>--no-floor</c> leaves it out). Beside each rate:
/// CPU-µs per event of this process (client side: Akka.Persistence, serialization, the Redis client) and of
/// redis-server, and the Redis calls per event from <c>INFO commandstats</c>, all as deltas over the measured run.
/// </summary>
public static class JournalBenchmark
{
    public static async Task<IReadOnlyList<Figure>> RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        var quick = args.Contains("--quick");
        var journalConfig = Option("--journal-config");
        var actorCounts = (Option("--actors") ?? "1,10,100").Split(',').Select(int.Parse).ToArray();
        var total = Option("--events") is { } count ? int.Parse(count) : quick ? 2_000 : 50_000;
        using var redis = new RedisProcess();
        var raw = redis.PipelinedRpushPerSecond(quick ? 50_000 : 500_000);
        var figures = new List<Figure> { new("redis-benchmark", "rpush-pipelined-32", 0, 0, raw) };
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.redis"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.redis"
            akka.persistence.journal.redis.configuration-string = "{redis.ConnectionString}"
            akka.persistence.snapshot-store.redis.configuration-string = "{redis.ConnectionString}"
            {(journalConfig is null ? "" : $"akka.persistence.journal.redis {{ {journalConfig} }}")}
            """).WithFallback(JobsConfig.Embedded("persistence-redis.conf"));
        using var stats = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString + ",allowAdmin=true");
        var server = stats.GetServer(stats.GetEndPoints()[0]);
        var journals = new List<(string System, Config Config)> { ("jobs-redis-journal", config) };
        if (!args.Contains("--no-floor"))
        {
            // Akka.Persistence's own in-memory journal (no serialization, no I/O): the floor the persistent actors'
            // machinery sets on the client side, whatever the journal.
            journals.Add(("akka-inmem-journal", ConfigurationFactory.ParseString("""akka.persistence.journal.plugin = "akka.persistence.journal.inmem" """)
                .WithFallback(config)));
        }
        foreach (var (name, journalSystemConfig) in journals)
        {
            using var system = ActorSystem.Create("journal-bench", journalSystemConfig);
            // Not measured: the first writes pay for JIT compilation and connection set-up.
            await PersistAsync(system, 100, quick ? 5 : 1000);
            foreach (var actors in actorCounts)
            {
                var perActor = Math.Max(total / actors, quick ? 20 : 500);
                var before = await Sample(server);
                var seconds = await PersistAsync(system, actors, perActor);
                var after = await Sample(server);
                var events = actors * perActor;
                figures.Add(new Figure(name, $"persist-{actors}-actors", events, seconds, events / seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name} persist-{actors}-actors: {events / seconds:0} events/s ({events / seconds / raw:P1} of pipelined RPUSH); CPU-µs per event: client {(after.ClientCpu - before.ClientCpu) * 1e6 / events:0.0}, redis {(after.RedisCpu - before.RedisCpu) * 1e6 / events:0.0}; Redis calls per event: {Calls(before, after, events)}"));
            }
            await system.Terminate();
        }
        return figures;
    }

    /// <summary>Starts <paramref name="actors"/> writers of <paramref name="perActor"/> events each; the seconds until all are done.</summary>
    private static async Task<double> PersistAsync(ActorSystem system, int actors, int perActor)
    {
        var done = Enumerable.Range(0, actors).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < actors; i++)
        {
            var signal = done[i];
            var id = $"bench-{actors}-{i}-{Guid.NewGuid():N}";
            system.ActorOf(Props.Create(() => new Writer(id, perActor, signal)));
        }
        await Task.WhenAll(done.Select(d => d.Task));
        return clock.Elapsed.TotalSeconds;
    }

    private sealed record Sampled(double ClientCpu, double RedisCpu, IReadOnlyDictionary<string, long> Calls);

    private static async Task<Sampled> Sample(IServer server)
    {
        var info = (await server.InfoAsync("all")).SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        var calls = info.Where(p => p.Key.StartsWith("cmdstat_", StringComparison.Ordinal))
            .ToDictionary(p => p.Key["cmdstat_".Length..], p => long.Parse(p.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));
        var redisCpu = double.Parse(info["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(info["used_cpu_sys"], CultureInfo.InvariantCulture);
        return new Sampled(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, redisCpu, calls);
    }

    // The INFO commands of the sampling itself are left out.
    private static string Calls(Sampled before, Sampled after, int events) =>
        string.Join(" ", after.Calls
            .Select(p => (Command: p.Key, Delta: p.Value - before.Calls.GetValueOrDefault(p.Key)))
            .Where(c => c.Delta * 1000 >= events && c.Command != "info")
            .OrderByDescending(c => c.Delta)
            .Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Command} {(double)c.Delta / events:0.###}")));

    /// <summary>Persists <c>count</c> events one after another, each ~100 bytes like a task event.</summary>
    private sealed class Writer : ReceivePersistentActor
    {
        private const string Payload = "{\"taskId\":\"4a6f0f8e-1c1d-4f57-9a4e-2b0f6c0c9b11\",\"result\":42,\"worker\":\"worker@127.0.0.1\"}";
        private readonly int _count;
        private readonly TaskCompletionSource _done;
        private int _written;

        public Writer(string persistenceId, int count, TaskCompletionSource done)
        {
            PersistenceId = persistenceId;
            _count = count;
            _done = done;
            Recover<string>(_ => { });
            Command<string>(_ => Next());
        }

        public override string PersistenceId { get; }

        protected override void OnReplaySuccess() => Self.Tell("go");

        private void Next() => Persist(Payload, _ =>
        {
            if (++_written == _count)
                _done.SetResult();
            else
                Next();
        });
    }
}
