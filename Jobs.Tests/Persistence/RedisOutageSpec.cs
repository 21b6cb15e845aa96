using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Persistence.Redis.Journal;
using Jobs.Actors.Persistence.Redis.Query;
using Jobs.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>
/// Redis goes away mid-test and comes back: writes fail promptly (a batch cut off on the way fails every write in
/// it, as of unknown outcome), then work again, and nothing is lost; a live query that could not subscribe does not
/// keep later ones from waking on writes (the refresh interval is 30 s here, so only a notification is in time).
/// </summary>
public sealed class RedisOutageSpec : TestKit
{
    private readonly RedisServer _redis;

    public RedisOutageSpec() : this(new RedisServer())
    {
    }

    private RedisOutageSpec(RedisServer redis)
        : base(ConfigurationFactory.ParseString("akka.persistence.query.journal.redis.refresh-interval = 30s").WithFallback(PersistenceBackends.Redis(redis)))
    {
        _redis = redis;
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        _redis.Dispose();
    }

    private sealed class Recorder : ReceivePersistentActor
    {
        private readonly List<string> _events = new();
        private IActorRef? _writer;

        public Recorder(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<string>(e => _events.Add(e));
            Command<string>(text =>
            {
                if (text == "list")
                {
                    Sender.Tell(string.Join(",", _events));
                    return;
                }
                _writer = Sender;
                Persist(text, e =>
                {
                    _events.Add(e);
                    _writer.Tell("stored " + e);
                });
            });
        }

        public override string PersistenceId { get; }

        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _writer?.Tell("failed " + @event);
            base.OnPersistFailure(cause, @event, sequenceNr);
        }
    }

    [Fact]
    public void A_write_while_redis_is_down_fails_promptly_and_writes_resume_when_it_returns()
    {
        var pid = "outage-" + Guid.NewGuid().ToString("N")[..8];
        var recorder = Sys.ActorOf(Props.Create(() => new Recorder(pid)));
        recorder.Tell("before");
        ExpectMsg("stored before");

        _redis.Kill();
        Watch(recorder);
        recorder.Tell("during");
        ExpectMsg("failed during", TimeSpan.FromSeconds(15));
        ExpectTerminated(recorder);

        _redis.Start();
        // Probe with throwaway ids until writes succeed again: a probing write that succeeds only after its wait
        // gave up must not add a second "after" to the stream under test.
        AwaitAssert(() =>
        {
            var probe = CreateTestProbe();
            var ping = "ping-" + Guid.NewGuid().ToString("N")[..8];
            Sys.ActorOf(Props.Create(() => new Recorder(ping))).Tell("ping", probe.Ref);
            probe.ExpectMsg("stored ping", TimeSpan.FromSeconds(3));
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(500));
        var again = Sys.ActorOf(Props.Create(() => new Recorder(pid)));
        again.Tell("after");
        ExpectMsg("stored after", TimeSpan.FromSeconds(10));
        again.Tell("list");
        ExpectMsg("before,after");
    }

    /// <summary>Journal writes work again: a throwaway id is written (waiting for Redis after a restart).</summary>
    private void AwaitWritable() =>
        AwaitAssert(() =>
        {
            var probe = CreateTestProbe();
            var ping = "ping-" + Guid.NewGuid().ToString("N")[..8];
            Sys.ActorOf(Props.Create(() => new Recorder(ping))).Tell("ping", probe.Ref);
            probe.ExpectMsg("stored ping", TimeSpan.FromSeconds(3));
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(500));

    [Fact]
    public void A_batch_cut_off_by_redis_going_away_fails_every_write_in_it_as_of_unknown_outcome()
    {
        AwaitWritable();
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        var probes = Enumerable.Range(0, 5).Select(_ => CreateTestProbe()).ToArray();
        using (var admin = ConnectionMultiplexer.Connect(_redis.ConnectionString + ",allowAdmin=true"))
            admin.GetServer(admin.GetEndPoints()[0]).Execute("CLIENT", "PAUSE", 10_000, "WRITE");
        // Two flushes are held by the paused Redis, the other writes wait in the journal's queue; then Redis dies.
        foreach (var probe in probes)
        {
            var pid = "cut-" + Guid.NewGuid().ToString("N")[..8];
            journal.Tell(new WriteMessages([new AtomicWrite(new Persistent("x", 1, pid, string.Empty, false, ActorRefs.NoSender, "w"))], probe.Ref, 1));
        }
        _redis.Kill();
        foreach (var probe in probes)
        {
            var failed = probe.ExpectMsg<WriteMessagesFailed>(TimeSpan.FromSeconds(15));
            Assert.IsType<WriteOutcomeUnknownException>(failed.Cause);
            Assert.Contains("whether this write was stored is unknown", failed.Cause.Message);
            probe.ExpectMsg<WriteMessageFailure>();
        }
        _redis.Start();
        AwaitWritable();
    }

    [Fact]
    public async Task A_live_query_that_could_not_subscribe_does_not_keep_later_live_queries_from_waking_on_writes()
    {
        var queries = PersistenceQuery.Get(Sys).ReadJournalFor<RedisReadJournal>(RedisReadJournal.Identifier);
        var tag = "live-" + Guid.NewGuid().ToString("N")[..6];
        _redis.Kill();
        var first = queries.EventsByTag(tag, Offset.NoOffset()).RunWith(Sink.Ignore<EventEnvelope>(), Sys.Materializer());
        await Assert.ThrowsAnyAsync<Exception>(() => first.WaitAsync(TimeSpan.FromSeconds(15)));

        _redis.Start();
        AwaitWritable();
        _ = queries.EventsByTag(tag, Offset.NoOffset()).RunForeach(e => TestActor.Tell(e), Sys.Materializer());
        var journal = Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null);
        var writer = CreateTestProbe();
        var pid = "live-" + Guid.NewGuid().ToString("N")[..8];
        journal.Tell(new WriteMessages([new AtomicWrite(new Persistent(new Tagged("woken", [tag]), 1, pid, string.Empty, false, ActorRefs.NoSender, "w"))], writer.Ref, 1));
        writer.ExpectMsg<WriteMessagesSuccessful>(TimeSpan.FromSeconds(10));
        Assert.Equal("woken", ExpectMsg<EventEnvelope>(TimeSpan.FromSeconds(10)).Event);
    }
}
