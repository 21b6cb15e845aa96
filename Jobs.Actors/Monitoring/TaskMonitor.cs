using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Jobs.Actors.Persistence;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// The monitor of a node that serves HTTP (Flower's role). It owns the node's view of workers (from their events and
/// cluster membership, in memory) and keeps the <see cref="TaskIndex"/> (on disk) current from two feeds: live events
/// from DistributedPubSub, for low latency and the STARTED state that is never journaled, and sweeps of the journal's
/// task tag from the offset stored in the index, so whatever the live feed missed is recorded, and a restarted (or
/// wiped) index catches up from the journal, not from memory. A sweep runs at start and then only when the live feed
/// may have missed something (<see cref="WantSweeps"/>), or at the backstop interval: every sweep reads back what was
/// written since the last, which on a busy node slows the task round trips beside it. An event arriving by both feeds
/// is recorded once. Live events also go to the node's SSE subscribers.
/// </summary>
public sealed class TaskMonitor : ReceiveActor, IWithTimers
{
    private const string JournalStream = TaskEventTagger.Tag;

    private readonly MonitoringSettings _settings;
    private readonly string _readJournalId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _writer;
    private readonly IActorRef _reader;
    private readonly HashSet<IActorRef> _subscribers = new();
    private readonly Dictionary<string, WorkerView> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _publishers = new(StringComparer.Ordinal);
    private readonly List<TaskEvent> _pending = new();
    private bool _liveBatchInFlight;
    private long _shed;
    private UniqueKillSwitch? _sweep;
    private int _sweepsWanted;
    private string _sweepReason = "the monitor started";
    private DateTimeOffset _lastSweep;
    private long _sweepsEnded;

    public TaskMonitor(MonitoringSettings settings, string readJournalId, TaskMetrics metrics, Beat.BeatMetrics? beatMetrics = null)
    {
        _settings = settings;
        _readJournalId = readJournalId;
        _writer = Context.ActorOf(TaskIndexWriter.Props(settings, metrics), "index-writer");
        _reader = Context.ActorOf(TaskIndexReader.Props(settings), "index-reader");

        Receive<TaskEvent>(e =>
        {
            foreach (var subscriber in _subscribers)
                subscriber.Tell(e);
            Index(e);
        });
        Receive<TaskEventBatch>(batch =>
        {
            foreach (var subscriber in _subscribers)
                subscriber.Tell(batch);
            CheckNumber(batch);
            foreach (var e in batch.Events)
                Index(e);
        });
        Receive<WorkerEvent>(OnWorkerEvent);
        // The beat's ticks (beat-tick) go to metrics and streams only; the entries' journals keep them.
        Receive<Beat.BeatTick>(tick =>
        {
            beatMetrics?.Record(tick);
            foreach (var subscriber in _subscribers)
                subscriber.Tell(tick);
        });
        // Expired results leave the index too, so the dashboard and the journal agree.
        Receive<Retention.TasksExpired>(expired => _writer.Tell(expired));
        Receive<FlushPending>(_ => Flush());
        Receive<SweepDue>(_ => SweepIfWanted());
        Receive<GetSweepStatus>(_ => Sender.Tell(new SweepStatus(_sweepsEnded, _sweep is not null, _sweepsWanted, _sweepReason, _publishers.Count)));
        Receive<JournalSwept>(OnSwept);
        Receive<LiveEventsWritten>(_ =>
        {
            _liveBatchInFlight = false;
            Flush();
        });
        Receive<CheckHeartbeats>(_ =>
        {
            ExpireSilentWorkers();
            ReportShedding();
        });
        Receive<ClusterEvent.UnreachableMember>(e =>
        {
            MarkOffline(e.Member.Address, "unreachable");
            WantSweeps($"member {e.Member.Address} is unreachable");
        });
        Receive<ClusterEvent.MemberRemoved>(e =>
        {
            MarkOffline(e.Member.Address, "removed");
            WantSweeps($"member {e.Member.Address} was removed");
            ForgetPublishers(e.Member.Address + "/");
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.IReachabilityEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
        Receive<SubscribeAck>(_ => { });
        Receive<GetWorkers>(_ => Sender.Tell(new WorkerList(_workers.Values.OrderBy(w => w.Last.Hostname, StringComparer.Ordinal).ToArray())));
        Receive<GetTasks>(get => _reader.Forward(get));
        Receive<GetTaskTimeline>(get => _reader.Forward(get));
        Receive<GetTaskCounts>(get => _reader.Forward(get));
        Receive<SubscribeEvents>(subscribe =>
        {
            if (_subscribers.Add(subscribe.Subscriber))
                Context.Watch(subscribe.Subscriber);
        });
        Receive<UnsubscribeEvents>(unsubscribe =>
        {
            if (_subscribers.Remove(unsubscribe.Subscriber))
                Context.Unwatch(unsubscribe.Subscriber);
        });
        Receive<Terminated>(terminated => _subscribers.Remove(terminated.ActorRef));
        Receive<GetEventStreamCount>(_ => Sender.Tell(new EventStreamCount(_subscribers.Count)));
    }

    public static Props Props(MonitoringSettings settings, string readJournalId, TaskMetrics metrics, Beat.BeatMetrics? beatMetrics = null) =>
        Akka.Actor.Props.Create(() => new TaskMonitor(settings, readJournalId, metrics, beatMetrics));

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        var mediator = DistributedPubSub.Get(Context.System).Mediator;
        mediator.Tell(new Subscribe(MonitoringTopics.Tasks, Self));
        mediator.Tell(new Subscribe(MonitoringTopics.Workers, Self));
        mediator.Tell(new Subscribe(Retention.RetentionTopics.Expired, Self));
        mediator.Tell(new Subscribe(Beat.BeatTopics.Events, Self));
        Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer(CheckHeartbeats.Instance, CheckHeartbeats.Instance, TimeSpan.FromSeconds(1));
        SweepJournal();
    }

    protected override void PostStop()
    {
        _sweep?.Shutdown();
        Cluster.Get(Context.System).Unsubscribe(Self);
    }

    /// <summary>
    /// Reads the journal's task tag from the stored offset to the journal's current end, in pages, each committed with
    /// its offset; the next sweep starts <see cref="MonitoringSettings.JournalSweepInterval"/> after this one ends,
    /// whether it succeeded or not (the journal may be unavailable: Redis down, no file yet). A journal that lists its
    /// tag entries without their events (<see cref="ICurrentTagEntriesQuery"/>: Redis) is read that way, and only the
    /// events the index lacks are read whole: in the steady state the live feed brought them all, and the sweep costs
    /// one range read per page. Entries younger than <see cref="MonitoringSettings.JournalSweepSettle"/> wait for the
    /// next sweep, so events the live feed is still delivering are not read twice.
    /// </summary>
    private void SweepJournal()
    {
        if (_sweep is not null)
            return;
        _sweepsWanted = Math.Max(0, _sweepsWanted - 1);
        _lastSweep = DateTimeOffset.UtcNow;
        var writer = _writer;
        var batchSize = _settings.BatchSize;
        var journal = PersistenceQuery.Get(Context.System).ReadJournalFor<ICurrentEventsByTagQuery>(_readJournalId);
        var start = Source.FromTask(writer.Ask<IndexOffset>(new GetIndexOffset(JournalStream), TimeSpan.FromSeconds(30)));
        var counts = new SweepCounts();
        MonitorEventSource.Log.SweepStarted();
        var pages = journal is ICurrentTagEntriesQuery entries && !_settings.JournalSweepReadsAll
            ? start.ConcatMany(offset => entries.CurrentTagEntries(TaskEventTagger.Tag, offset.Value, _settings.JournalSweepSettle))
                .Grouped(batchSize)
                .SelectAsync(1, grouped => ReadLackingAsync(grouped.ToArray(), writer, entries))
            : start.ConcatMany(offset => journal.CurrentEventsByTag(TaskEventTagger.Tag, offset.Value))
                .Grouped(batchSize)
                .Select(grouped =>
                {
                    var page = grouped.ToArray();
                    return new SweptPage(Events(page), page[^1].Offset, page.Length);
                });
        var (killSwitch, done) = pages
            .SelectAsync(1, page =>
            {
                counts.Entries += page.Entries;
                counts.Read += page.Events.Count;
                return writer.Ask<IndexOffset>(new WriteTaskEvents(page.Events, JournalStream, page.Offset), TimeSpan.FromSeconds(60));
            })
            .ViaMaterialized(KillSwitches.Single<IndexOffset>(), Keep.Right)
            .ToMaterialized(Sink.Ignore<IndexOffset>(), Keep.Both)
            .Run(Context.Materializer());
        _sweep = killSwitch;
        done.PipeTo(Self, success: () => new JournalSwept(null, counts), failure: cause => new JournalSwept(cause, counts));
    }

    /// <summary>The events of one page of tag entries that the index lacks, read from the journal.</summary>
    private static async Task<SweptPage> ReadLackingAsync(TagEntry[] page, IActorRef writer, ICurrentTagEntriesQuery journal)
    {
        var named = page.Select(e => (TaskIdOf(e.PersistenceId), e.SequenceNr)).ToArray();
        var lacking = await writer.Ask<LackingEvents>(new FindLackingEvents(named), TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        var events = lacking.Positions.Count == 0 ? [] : await journal.EventsOfAsync(lacking.Positions.Select(i => page[i]).ToArray()).ConfigureAwait(false);
        return new SweptPage(Events(events), page[^1].Offset, page.Length);
    }

    private static TaskEvent[] Events(IEnumerable<EventEnvelope> envelopes) => envelopes
        .Where(envelope => envelope.Event is ITaskEvent)
        .Select(envelope => TaskEvents.From((ITaskEvent)envelope.Event) with { JournalSequenceNr = envelope.SequenceNr })
        .ToArray();

    /// <summary>The task id of a task's persistence id; another id is kept whole (its events are not the index's).</summary>
    private static string TaskIdOf(string persistenceId)
    {
        var id = TaskEntity.PersistenceIdOf("");
        return persistenceId.StartsWith(id, StringComparison.Ordinal) ? persistenceId[id.Length..] : persistenceId;
    }

    /// <summary>
    /// One page of a sweep: the events to record, the offset it reaches (of the journal's own type: a Redis journal of
    /// several partitions has one position per partition), and how many tag entries it covered.
    /// </summary>
    private sealed record SweptPage(IReadOnlyList<TaskEvent> Events, Offset Offset, int Entries);

    /// <summary>What one sweep read (its pages are written one at a time, so one stage at a time counts).</summary>
    private sealed class SweepCounts
    {
        public long Entries;
        public long Read;
    }

    private void OnSwept(JournalSwept swept)
    {
        _sweep = null;
        _sweepsEnded++;
        MonitorEventSource.Log.SweepEnded(swept.Counts.Entries, swept.Counts.Read);
        if (swept.Failure is { } cause)
        {
            _log.Warning("Monitor: reading task events from the journal failed ({0}); trying again in {1}", cause.Message, _settings.JournalSweepInterval);
            WantSweeps("the last sweep failed");
        }
        Timers.StartSingleTimer(SweepDue.Instance, SweepDue.Instance, _settings.JournalSweepInterval);
    }

    /// <summary>Sweeps when the live feed may have missed events since the last sweep, or the backstop interval has passed.</summary>
    private void SweepIfWanted()
    {
        if (_sweepsWanted > 0 || DateTimeOffset.UtcNow - _lastSweep >= _settings.JournalSweepBackstop)
            SweepJournal();
        else
            Timers.StartSingleTimer(SweepDue.Instance, SweepDue.Instance, _settings.JournalSweepInterval);
    }

    /// <summary>
    /// The live feed may have missed events journaled before now. Two sweeps: the next check may come at once and
    /// leave entries younger than <see cref="MonitoringSettings.JournalSweepSettle"/> to a later one, and the one after
    /// it starts at least <see cref="MonitoringSettings.JournalSweepInterval"/> later.
    /// </summary>
    private void WantSweeps(string reason)
    {
        _sweepsWanted = 2;
        _sweepReason = reason;
    }

    /// <summary>A numbered batch: a publisher seen for the first time, or a number skipped, may mean events lost.</summary>
    private void CheckNumber(TaskEventBatch batch)
    {
        if (batch.Publisher.Length == 0)
            return;
        if (!_publishers.TryGetValue(batch.Publisher, out var last))
        {
            WantSweeps($"the first events of {batch.Publisher}");
            // A node's batcher started again: its earlier incarnation sends nothing more (pub-sub keeps one sender's order).
            if (batch.Publisher.LastIndexOf('/') is var slash and > 0)
                ForgetPublishers(batch.Publisher[..(slash + 1)]);
        }
        else if (batch.Number > last + 1)
            WantSweeps($"{batch.Number - last - 1} batch(es) of {batch.Publisher} missed");
        if (batch.Number > last)
            _publishers[batch.Publisher] = batch.Number;
    }

    /// <summary>Stops following the publishers whose names start with <paramref name="address"/> (a node's address and "/").</summary>
    private void ForgetPublishers(string address)
    {
        foreach (var publisher in _publishers.Keys.Where(p => p.StartsWith(address, StringComparison.Ordinal)).ToArray())
            _publishers.Remove(publisher);
    }

    /// <summary>
    /// One live batch is written at a time. While the index is behind, at most a few batches wait here; beyond that,
    /// live events are left out of the index (streams still get them): the journal sweep brings every journaled
    /// event anyway, so only the STARTED and task-sent steps of those tasks are lost, and memory stays bounded.
    /// </summary>
    private void Index(TaskEvent e)
    {
        if (_pending.Count >= _settings.BatchSize * 4)
        {
            if (_shed++ == 0)
                WantSweeps("live events were shed while the index was behind");
            return;
        }
        _pending.Add(e);
        if (_pending.Count >= _settings.BatchSize)
            Flush();
        else if (_pending.Count == 1)
            Timers.StartSingleTimer(FlushPending.Instance, FlushPending.Instance, _settings.BatchInterval);
    }

    private void Flush()
    {
        if (_pending.Count == 0 || _liveBatchInFlight)
            return;
        Timers.Cancel(FlushPending.Instance);
        var batch = _pending.Take(_settings.BatchSize).ToArray();
        _pending.RemoveRange(0, batch.Length);
        _writer.Tell(new WriteTaskEvents(batch));
        _liveBatchInFlight = true;
    }

    private void ReportShedding()
    {
        if (_shed == 0)
            return;
        _log.Warning("Monitor: the task index is behind; {0} live events were left to the journal sweep", _shed);
        _shed = 0;
    }

    private void OnWorkerEvent(WorkerEvent e)
    {
        _workers[e.Hostname] = new WorkerView(e, e.Type != EventTypes.WorkerOffline, DateTimeOffset.UtcNow);
        foreach (var subscriber in _subscribers)
            subscriber.Tell(e);
    }

    /// <summary>Celery marks a worker offline when its heartbeats stop; here also when its cluster member goes.</summary>
    private void ExpireSilentWorkers()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var worker in _workers.Values.Where(w => w.Online && now - w.LastHeartbeat > _settings.OfflineAfter).ToArray())
            GoOffline(worker, "no heartbeat for " + (now - worker.LastHeartbeat).TotalSeconds.ToString("0.#") + " s");
    }

    private void MarkOffline(Address address, string why)
    {
        var text = address.ToString();
        foreach (var worker in _workers.Values.Where(w => w.Online && w.Last.Address == text).ToArray())
            GoOffline(worker, "member " + why);
    }

    private void GoOffline(WorkerView worker, string why)
    {
        _log.Info("Monitor: worker {0} is offline ({1})", worker.Last.Hostname, why);
        var offline = worker.Last with { Type = EventTypes.WorkerOffline, Timestamp = DateTimeOffset.UtcNow };
        _workers[worker.Last.Hostname] = worker with { Last = offline, Online = false };
        foreach (var subscriber in _subscribers)
            subscriber.Tell(offline);
    }

    private sealed class FlushPending
    {
        public static readonly FlushPending Instance = new();
    }

    private sealed class CheckHeartbeats
    {
        public static readonly CheckHeartbeats Instance = new();
    }

    private sealed class SweepDue
    {
        public static readonly SweepDue Instance = new();
    }

    private sealed record JournalSwept(Exception? Failure, SweepCounts Counts);
}
