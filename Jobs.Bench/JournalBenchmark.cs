using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Jobs.Actors.Hosting;

namespace Jobs.Bench;

/// <summary>
/// Events persisted per second through the Redis journal with 1, 10 and 100 persistent actors persisting one
/// event at a time (as task entities do), next to redis-benchmark's pipelined RPUSH on the same server.
/// </summary>
public static class JournalBenchmark
{
    public static async Task<IReadOnlyList<Figure>> RunAsync(bool quick)
    {
        using var redis = new RedisProcess();
        var raw = redis.PipelinedRpushPerSecond(quick ? 50_000 : 500_000);
        var figures = new List<Figure> { new("redis-benchmark", "rpush-pipelined-32", 0, 0, raw) };
        var config = ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.redis"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.redis"
            akka.persistence.journal.redis.configuration-string = "{redis.ConnectionString}"
            akka.persistence.snapshot-store.redis.configuration-string = "{redis.ConnectionString}"
            """).WithFallback(JobsConfig.Embedded("persistence-redis.conf"));
        using var system = ActorSystem.Create("journal-bench", config);
        foreach (var actors in new[] { 1, 10, 100 })
        {
            var perActor = (quick ? 2_000 : 50_000) / actors;
            perActor = Math.Max(perActor, quick ? 20 : 500);
            var done = Enumerable.Range(0, actors).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < actors; i++)
            {
                var signal = done[i];
                var id = $"bench-{actors}-{i}-{Guid.NewGuid():N}";
                system.ActorOf(Props.Create(() => new Writer(id, perActor, signal)));
            }
            await Task.WhenAll(done.Select(d => d.Task));
            var seconds = clock.Elapsed.TotalSeconds;
            var events = actors * perActor;
            figures.Add(new Figure("jobs-redis-journal", $"persist-{actors}-actors", events, seconds, events / seconds));
        }
        await system.Terminate();
        return figures;
    }

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
