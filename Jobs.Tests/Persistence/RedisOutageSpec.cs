using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit.Xunit2;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>Redis goes away mid-test and comes back: writes fail promptly, then work again, and nothing is lost.</summary>
public sealed class RedisOutageSpec : TestKit
{
    private readonly RedisServer _redis;

    public RedisOutageSpec() : this(new RedisServer())
    {
    }

    private RedisOutageSpec(RedisServer redis) : base(PersistenceBackends.Redis(redis))
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
}
