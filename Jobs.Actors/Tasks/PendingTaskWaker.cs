using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Jobs.Actors.Hosting;
using Jobs.Actors.Persistence;
using Jobs.Actors.Persistence.Redis;

namespace Jobs.Actors.Tasks;

/// <summary>
/// One per task shard, living in that shard (entity id <see cref="StableMessageExtractor.ShardWakerId"/>), so it starts
/// whenever the shard starts on a node — after a crash, a hand-off or a restart — and stops with it. On start it reads
/// the shard's <see cref="PendingTasks">pending index</see> page by page and asks the shard to start each task
/// (<see cref="ShardRegion.StartEntity"/>: a no-op for one already running). A recovered task re-enqueues itself or
/// re-arms its countdown, retry and expiry timers. Kept alive by <see cref="PendingShardWakers"/>.
/// </summary>
public sealed class PendingTaskWaker : ReceiveActor, IWithTimers
{
    private readonly string _shardId;
    private readonly RedisJournalIndexes _indexes;
    private readonly PendingIndexSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private IActorRef _shard;
    private IAsyncEnumerator<string>? _reading;
    private int _woken;

    public PendingTaskWaker(string shardId, RedisJournalIndexes indexes, PendingIndexSettings settings, IActorRef? shard)
    {
        _shardId = shardId;
        _indexes = indexes;
        _settings = settings;
        _shard = shard ?? ActorRefs.Nobody;
        Receive<PendingPage>(OnPage);
        Receive<ReadFailed>(OnReadFailed);
        Receive<WakeAgain>(_ => Wake());
        Receive<StopEntity>(_ => Context.Stop(Self));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="shard">Where the starts go: the shard this waker lives in unless given (a spec's probe).</param>
    public static Props Props(string shardId, RedisJournalIndexes indexes, PendingIndexSettings settings, IActorRef? shard = null) =>
        FactoryProps.Of(() => new PendingTaskWaker(shardId, indexes, settings, shard));

    protected override void PreStart()
    {
        if (_shard.IsNobody())
            _shard = Context.Parent;
        Wake();
    }

    protected override void PostStop() => _ = _reading?.DisposeAsync();

    private void Wake()
    {
        _woken = 0;
        _ = _reading?.DisposeAsync();
        _reading = _indexes.SetMembersAsync(JournalIndexes.Pending(_shardId)).GetAsyncEnumerator();
        ReadPage();
    }

    private void ReadPage() =>
        ReadPageAsync(_reading!, _settings.WakeBatch).PipeTo(Self, success: page => page, failure: cause => new ReadFailed(cause));

    private static async Task<PendingPage> ReadPageAsync(IAsyncEnumerator<string> reading, int size)
    {
        var ids = new List<string>(Math.Min(size, 64));
        while (ids.Count < size && await reading.MoveNextAsync().ConfigureAwait(false))
            ids.Add(reading.Current);
        return new PendingPage(ids, ids.Count == size);
    }

    private void OnPage(PendingPage page)
    {
        // No sender: the shard's acknowledgements are of no use here.
        foreach (var id in page.TaskIds)
            _shard.Tell(new ShardRegion.StartEntity(id), ActorRefs.NoSender);
        _woken += page.TaskIds.Count;
        if (page.More)
        {
            ReadPage();
            return;
        }
        if (_woken > 0)
            _log.Info("Task shard {0}: started {1} unfinished tasks from the pending index", _shardId, _woken);
    }

    /// <summary>The journal is unreachable: try the whole index again later (starting a task twice is harmless).</summary>
    private void OnReadFailed(ReadFailed failed)
    {
        _log.Warning("Task shard {0}: could not read the pending index ({1}); trying again in {2}", _shardId, failed.Cause.Message, _settings.WakeInterval);
        Timers.StartSingleTimer(WakeAgain.Instance, WakeAgain.Instance, _settings.WakeInterval);
    }

    private sealed record PendingPage(IReadOnlyList<string> TaskIds, bool More);

    private sealed record ReadFailed(Exception Cause);

    private sealed class WakeAgain
    {
        public static readonly WakeAgain Instance = new();
    }
}

/// <summary>
/// On every node that hosts task shards: every <see cref="PendingIndexSettings.WakeInterval"/> it looks up which shards
/// have unfinished tasks in their pending index and asks the task region to start those shards'
/// <see cref="PendingTaskWaker"/>s. For a live waker that is a no-op; for a shard no node hosts (its node died, or it
/// was handed off and nothing has reached it since) it is the message that brings the shard, and so its unfinished
/// tasks, back. Remember-entities did this through the coordinator. A shard with nothing pending is left alone: it is
/// allocated when a task first reaches it, so a cluster starting empty spreads its shards over the workers that are up
/// instead of placing all of them on the first (and rebalancing them away for minutes).
/// </summary>
public sealed class PendingShardWakers : ReceiveActor, IWithTimers
{
    private readonly TimeSpan _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _looking;

    public PendingShardWakers(IActorRef tasks, RedisJournalIndexes indexes, int numberOfShards, TimeSpan interval)
    {
        _interval = interval;
        var shards = Enumerable.Range(0, numberOfShards).Select(s => s.ToString()).ToArray();
        var indexOf = shards.ToDictionary(JournalIndexes.Pending, s => s);
        var keys = indexOf.Keys.ToArray();
        Receive<Tick>(_ =>
        {
            // One look at a time: a slow Redis is not asked again before it answered.
            if (_looking)
                return;
            _looking = true;
            indexes.NonEmptySetsAsync(keys).PipeTo(Self, success: found => new Found(found), failure: cause => new LookFailed(cause));
        });
        Receive<Found>(found =>
        {
            _looking = false;
            foreach (var index in found.Indexes)
                tasks.Tell(new ShardRegion.StartEntity(StableMessageExtractor.ShardWakerId(indexOf[index])), ActorRefs.NoSender);
        });
        Receive<LookFailed>(failed =>
        {
            _looking = false;
            _log.Debug("Could not read the pending indexes ({0}); looking again in {1}", failed.Cause.Message, _interval);
        });
    }

    protected override void PreStart()
    {
        Self.Tell(Tick.Instance);
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _interval);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef tasks, RedisJournalIndexes indexes, int numberOfShards, TimeSpan interval) =>
        FactoryProps.Of(() => new PendingShardWakers(tasks, indexes, numberOfShards, interval));

    private sealed record Found(IReadOnlyList<string> Indexes);

    private sealed record LookFailed(Exception Cause);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
