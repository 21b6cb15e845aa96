using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Jobs.Actors.Serialization;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Queues;

/// <summary>
/// One node's partition of a named queue (Celery's broker queue): a plain local actor under the node's
/// <see cref="QueueHost"/>, fed by the task entities of its node and drained by the workers of its node. It holds only
/// what task entities have journaled already, so it is not persistent: when it dies, entities that watch it enqueue
/// again and workers that watch it ask again. Tasks go out only against demand, so a worker never holds more than it
/// asked for. A lease is one attempt of one task; a worker's periodic <see cref="SyncLeases"/> ends the leases it does
/// not hold, so none is held for ever by a message lost on the way.
/// <para>
/// Between nodes, partitions of the same queue lend to each other (<see cref="Borrow"/>): one whose workers have
/// free slots and nothing queued registers that credit with the others, which lend it what their own workers' idle
/// slots do not take. Order of dispatch: idle slots of this node's workers, idle slots of borrowing nodes, prefetch
/// of this node's workers, prefetch of borrowing nodes. So a task runs on its own node unless another node is idle.
/// </para>
/// </summary>
public sealed class QueueActor : ReceiveActor, IWithTimers
{
    private readonly string _name;
    private readonly QueueSettings _settings;

    /// <summary>Tasks of this node's entities, waiting: lent to other nodes as well as handed to this node's workers.</summary>
    private readonly LinkedList<Entry> _waiting = new();

    /// <summary>Tasks borrowed from other nodes' partitions, waiting for this node's workers (never lent on).</summary>
    private readonly LinkedList<Entry> _borrowed = new();

    private readonly Dictionary<string, Entry> _entries = new();
    private readonly Dictionary<IActorRef, Consumer> _consumers = new();
    private readonly List<Consumer> _rotation = new();

    /// <summary>The partitions of this queue on other nodes: the ones this partition borrows from when its workers wait.</summary>
    private readonly Dictionary<IActorRef, Lender> _lenders = new();

    /// <summary>The hosts of the other nodes: reclaimed attempts are looked for there.</summary>
    private IReadOnlyList<IActorRef> _peers = [];

    private readonly List<Entry> _toFind = new();
    private readonly Dictionary<long, FindRound> _rounds = new();
    private long _lastRound;
    private int _finding;
    private int _next;
    private long _lastAnnounced;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public QueueActor(string name, QueueSettings settings)
    {
        _name = name;
        _settings = settings;
        Receive<EnqueueTask>(Enqueue);
        Receive<RequestTasks>(OnRequest);
        Receive<SyncLeases>(OnSync);
        Receive<WithdrawDemand>(OnWithdraw);
        Receive<ForgetTask>(Forget);
        Receive<Borrow>(OnBorrow);
        Receive<RunTasks>(OnLent);
        Receive<ConsumerRegistered>(_ => LenderOf(Sender).LastBatch = 0);
        Receive<LeasesSynced>(OnLenderSynced);
        Receive<CancelAttempt>(OnLentCancelled);
        Receive<PartitionAvailable>(OnPartitionAvailable);
        Receive<PeerHosts>(OnPeers);
        Receive<FindAttempts>(OnFind);
        Receive<AttemptsFound>(OnFound);
        Receive<FindTimedOut>(timedOut => { if (_rounds.TryGetValue(timedOut.Round, out var round)) CompleteRound(round, timedOut: true); });
        Receive<Tick>(_ => OnTick());
        Receive<Terminated>(t => OnTerminated(t.ActorRef));
        Receive<GetQueueStats>(_ => Sender.Tell(new QueueStats(_name, _waiting.Count + _borrowed.Count + _finding,
            _consumers.Values.Where(c => c.Kind == ConsumerKind.Worker).Sum(c => c.Leases.Count),
            _consumers.Values.Count(c => c.Kind == ConsumerKind.Worker))));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Supervision: a failure stops the queue rather than restarting it, since a restart would keep this ref and wipe
    /// what it holds unseen. Stopped, it fires the DeathWatch of its entities, workers and peer partitions, who enqueue
    /// and ask again at its next incarnation (its host starts one on the next message).
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Error(reason, "Queue {0} failed on {1}; it stops, and its entities and workers start over with its successor",
            _name, message?.GetType().Name ?? "a message");
        Context.Stop(Self);
    }

    public static Props Props(string name, QueueSettings settings) => FactoryProps.Of(() => new QueueActor(name, settings));

    public static Props Props(string name, long maxBatchBytes) => Props(name, new QueueSettings(maxBatchBytes));

    public static Props Props(string name) => Props(name, QueueSettings.Default);

    private void Enqueue(EnqueueTask command)
    {
        var task = command.Task;
        if (_entries.TryGetValue(task.TaskId, out var entry) && entry.Task.Retries >= task.Retries)
        {
            // This attempt again (a resend, or a new incarnation of its entity): nothing to queue, but the new
            // sender is the entity to tell if the lease is lost.
            if (entry.Task.Retries == task.Retries)
                entry.Entity = Sender;
        }
        else if (entry is { Node: not null, Lender: null })
        {
            // A newer attempt replaces an older one still waiting, in its place: the older would only run stale.
            entry.Task = task;
            entry.Entity = Sender;
            entry.Size = SizeOf(task);
        }
        else
        {
            // New, or a newer attempt while the older one is leased (a zero-countdown retry can arrive before the worker
            // hands the old lease back): the old lease ends on its own, by its attempt number.
            if (entry is { Holder: null })
                Discard(entry);
            var fresh = new Entry(task, Sender, SizeOf(task));
            _entries[task.TaskId] = fresh;
            if (command.Reclaim && _peers.Count > 0)
                Find(fresh);
            else
                fresh.Node = _waiting.AddLast(fresh);
        }
        Sender.Tell(new TaskEnqueued(task.TaskId));
        Dispatch();
    }

    private void OnRequest(RequestTasks request)
    {
        var consumer = ConsumerOf(Sender, ConsumerKind.Worker);
        Lender? ended = null;
        foreach (var lease in request.Finished)
            ended = EndLease(consumer, lease) ?? ended;
        consumer.Demand += request.Demand;
        consumer.Idle = request.Idle;
        Dispatch();
        // A borrowed task done while its lender still has a backlog: ask for more now, not at the next tick.
        if (ended is { Backlog: > 0 } && Hunger().Credit > 0)
            SendBorrow(ended);
    }

    /// <summary>
    /// A worker's account of what it holds. Leases from batches it has settled but does not hold were lost on the
    /// way (the batch, or its hand-back or finished ack): their entities decide, since only they know whether the
    /// attempt still has to run. Demand becomes the worker's credit less what is still on its way to it.
    /// </summary>
    private void OnSync(SyncLeases sync)
    {
        var consumer = ConsumerOf(Sender, ConsumerKind.Worker);
        var inFlight = Reconcile(consumer, sync.Held, sync.SettledBatch);
        consumer.Demand = Math.Max(0, sync.Credit - inFlight);
        consumer.Idle = sync.Idle is { } idle ? Math.Max(0, idle - inFlight) : null;
        // Before any new batch, so the worker knows every batch up to this number has reached it or never will.
        Sender.Tell(new LeasesSynced(_name, consumer.LastBatch, _waiting.Count));
        Dispatch();
    }

    /// <summary>
    /// The credit of another node's partition, whose workers wait: kept as that of a consumer of its own kind, which is
    /// lent only tasks of this node (never borrowed ones) and only after this node's idle workers.
    /// </summary>
    private void OnBorrow(Borrow borrow)
    {
        var consumer = ConsumerOf(Sender, ConsumerKind.Borrower);
        foreach (var lease in borrow.Finished)
            EndLease(consumer, lease);
        var inFlight = Reconcile(consumer, borrow.Held, borrow.SettledBatch);
        consumer.Demand = Math.Max(0, borrow.Credit - inFlight);
        consumer.Idle = Math.Max(0, borrow.Idle - inFlight);
        Sender.Tell(new LeasesSynced(_name, consumer.LastBatch, _waiting.Count));
        Dispatch();
    }

    /// <summary>Ends the leases from settled batches that the consumer does not hold; returns how many are still on their way.</summary>
    private int Reconcile(Consumer consumer, IReadOnlyList<LeaseId> heldList, long settledBatch)
    {
        var held = heldList.ToHashSet();
        var inFlight = 0;
        List<LeaseId>? ended = null;
        foreach (var (lease, batch) in consumer.Leases)
        {
            if (batch > settledBatch)
                inFlight++;
            else if (!held.Contains(lease))
                (ended ??= new List<LeaseId>()).Add(lease);
        }
        if (ended is null)
            return inFlight;
        var lost = 0;
        foreach (var lease in ended)
        {
            consumer.Leases.Remove(lease);
            if (!IsCurrentLease(consumer, lease, out var entry))
                continue;
            _entries.Remove(lease.TaskId);
            if (entry.Lender is { } lender)
            {
                // Borrowed: its lender hears at our next Borrow that we do not hold it, and tells its entity (known here
                // only if the entity reclaimed it here after moving to this node).
                lender.Held.Remove(lease);
                lender.Dirty = true;
            }
            entry.Entity?.Tell(new LeaseLost(lease.TaskId, lease.Retries));
            lost++;
        }
        if (lost > 0)
            _log.Warning("Queue {0}: {1} {2} does not hold {3} task(s) leased to it; their tasks are told to enqueue again",
                _name, consumer.Kind == ConsumerKind.Worker ? "worker" : "partition", consumer.Ref.Path, lost);
        return inFlight;
    }

    private void Forget(ForgetTask forget)
    {
        if (!_entries.TryGetValue(forget.TaskId, out var entry))
            return;
        if (entry.Holder is null)
        {
            Discard(entry);
            _entries.Remove(forget.TaskId);
            return;
        }
        entry.Holder.Ref.Tell(new CancelAttempt(forget.TaskId, forget.Terminate));
    }

    /// <summary>A lender revoked a task it lent us: dropped if it waits here, else passed on to the worker holding it.</summary>
    private void OnLentCancelled(CancelAttempt cancel)
    {
        if (!_entries.TryGetValue(cancel.TaskId, out var entry) || entry.Lender is null || !entry.Lender.Ref.Equals(Sender))
            return;
        if (entry.Holder is null)
        {
            Discard(entry);
            _entries.Remove(cancel.TaskId);
            return;
        }
        entry.Holder.Ref.Tell(cancel);
    }

    private void OnWithdraw(WithdrawDemand withdraw)
    {
        if (!_consumers.TryGetValue(Sender, out var consumer))
            return;
        consumer.Demand = 0;
        consumer.Idle = 0;
        foreach (var lease in withdraw.Returned)
            ReturnLease(consumer, lease);
        Dispatch();
    }

    private void OnTerminated(IActorRef who)
    {
        // A partition of another node may have been both: borrowing from us and lending to us.
        if (_consumers.Remove(who, out var consumer))
            RemoveConsumer(consumer);
        if (_lenders.Remove(who, out var lender))
            AdoptBorrowed(lender);
    }

    private void RemoveConsumer(Consumer consumer)
    {
        _rotation.Remove(consumer);
        var held = consumer.Leases.Count;
        if (consumer.Kind == ConsumerKind.Worker)
        {
            // Acks late: what the dead worker held goes back to the front of the queue.
            foreach (var lease in consumer.Leases.Keys.ToArray())
                ReturnLease(consumer, lease);
            if (held > 0)
                _log.Warning("Queue {0}: worker {1} died holding {2} task(s); they are queued again", _name, consumer.Ref.Path, held);
        }
        else
        {
            // A partition's death is not its workers' (it may have failed alone): the entities decide, since they know
            // whether an attempt started (and watch its worker) or still waits.
            foreach (var lease in consumer.Leases.Keys.ToArray())
            {
                consumer.Leases.Remove(lease);
                if (!IsCurrentLease(consumer, lease, out var entry))
                    continue;
                _entries.Remove(lease.TaskId);
                entry.Entity?.Tell(new LeaseLost(lease.TaskId, lease.Retries));
            }
            if (held > 0)
                _log.Warning("Queue {0}: partition {1} died holding {2} task(s) lent to it; their tasks are told to enqueue again",
                    _name, consumer.Ref.Path, held);
        }
        Dispatch();
    }

    /// <summary>
    /// The partition we borrowed from died (its node, most likely, and its entities with it): what it lent us is ours
    /// now, and runs here. Their entities' new incarnations reclaim their attempts, and find them here.
    /// </summary>
    private void AdoptBorrowed(Lender lender)
    {
        var adopted = 0;
        foreach (var entry in _entries.Values.Where(e => e.Lender == lender).ToArray())
        {
            entry.Lender = null;
            adopted++;
            if (entry.Node is null)
                continue;
            _borrowed.Remove(entry.Node);
            entry.Node = _waiting.AddFirst(entry);
        }
        if (adopted > 0)
            _log.Warning("Queue {0}: partition {1}, which lent us {2} task(s), died; they stay here until their entities reclaim them",
                _name, lender.Ref.Path, adopted);
        Dispatch();
    }

    private Consumer ConsumerOf(IActorRef worker, ConsumerKind kind)
    {
        if (_consumers.TryGetValue(worker, out var consumer))
            return consumer;
        consumer = new Consumer(worker, kind);
        _consumers[worker] = consumer;
        _rotation.Add(consumer);
        Context.Watch(worker);
        worker.Tell(new ConsumerRegistered(_name));
        return consumer;
    }

    /// <summary>
    /// The attempt finished: its lease ends, and so does the task's entry unless a newer attempt took it over. A
    /// borrowed task's lease is handed back to its lender with the next <see cref="Borrow"/>, whose lender is returned.
    /// </summary>
    private Lender? EndLease(Consumer consumer, LeaseId lease)
    {
        if (!consumer.Leases.Remove(lease) || !IsCurrentLease(consumer, lease, out var entry))
            return null;
        _entries.Remove(lease.TaskId);
        if (entry.Lender is not { } lender)
            return null;
        lender.Held.Remove(lease);
        lender.Finished.Add(lease);
        lender.Dirty = true;
        return lender;
    }

    /// <summary>Back to the front of its list, unless a newer attempt of the task replaced it meanwhile.</summary>
    private void ReturnLease(Consumer consumer, LeaseId lease)
    {
        if (!consumer.Leases.Remove(lease) || !IsCurrentLease(consumer, lease, out var entry))
            return;
        entry.Holder = null;
        entry.Node = entry.Lender is null ? _waiting.AddFirst(entry) : _borrowed.AddFirst(entry);
    }

    /// <summary>An entry not handed out leaves its list (or its search); a borrowed one goes back to its lender as done with.</summary>
    private void Discard(Entry entry)
    {
        if (entry.Node is { } node)
        {
            node.List!.Remove(node);
            entry.Node = null;
        }
        if (entry.Finding)
        {
            entry.Finding = false;
            _finding--;
        }
        if (entry.Lender is { } lender)
        {
            var lease = LeaseOf(entry.Task);
            lender.Held.Remove(lease);
            lender.Finished.Add(lease);
            lender.Dirty = true;
        }
    }

    private bool IsCurrentLease(Consumer consumer, LeaseId lease, out Entry entry) =>
        _entries.TryGetValue(lease.TaskId, out entry!) && entry.Holder == consumer && entry.Task.Retries == lease.Retries;

    private void Dispatch()
    {
        while (_waiting.Count > 0 || _borrowed.Count > 0)
        {
            var (consumer, allowance) = NextConsumer();
            if (consumer is null)
                return;
            var number = ++consumer.LastBatch;
            var batch = new List<TaskEnvelope>(Math.Min(allowance, _waiting.Count + _borrowed.Count));
            var bytes = 0L;
            // Split by bytes as well as by demand, so a batch never outgrows a remoting frame.
            while (allowance > 0 && NextFor(consumer) is { } next && (batch.Count == 0 || bytes + next.Value.Size <= _settings.MaxBatchBytes))
            {
                var entry = next.Value;
                next.List!.Remove(next);
                entry.Node = null;
                entry.Holder = consumer;
                consumer.Leases[LeaseOf(entry.Task)] = number;
                consumer.Demand--;
                if (consumer.Idle > 0)
                    consumer.Idle--;
                allowance--;
                bytes += entry.Size;
                batch.Add(entry.Task);
            }
            consumer.Ref.Tell(new RunTasks(_name, batch, number, _waiting.Count));
        }
    }

    /// <summary>Borrowed tasks first for this node's workers (they were borrowed for slots that wait); a borrower only gets ours.</summary>
    private LinkedListNode<Entry>? NextFor(Consumer consumer) =>
        consumer.Kind == ConsumerKind.Borrower ? _waiting.First : _borrowed.First ?? _waiting.First;

    /// <summary>
    /// Round robin over the consumers that want work, in four tiers: this node's workers' idle slots, borrowing
    /// partitions' idle slots, this node's workers' prefetch, borrowing partitions' prefetch. Returns how many the
    /// chosen consumer may take in its tier.
    /// </summary>
    private (Consumer? Consumer, int Allowance) NextConsumer()
    {
        for (var tier = 0; tier < 4; tier++)
        {
            var kind = tier % 2 == 0 ? ConsumerKind.Worker : ConsumerKind.Borrower;
            if (kind == ConsumerKind.Borrower && _waiting.Count == 0)
                continue;
            for (var i = 0; i < _rotation.Count; i++)
            {
                var consumer = _rotation[(_next + i) % _rotation.Count];
                if (consumer.Kind != kind)
                    continue;
                var allowance = tier < 2 ? consumer.Immediate : consumer.Demand;
                if (allowance <= 0)
                    continue;
                _next = (_next + i + 1) % _rotation.Count;
                return (consumer, allowance);
            }
        }
        return (null, 0);
    }

    // Borrowing: this partition as a consumer of the partitions of the same queue on other nodes.

    /// <summary>
    /// What this partition would borrow: its workers' unmet demand (and how much of it is idle slots), when nothing
    /// waits here for them.
    /// </summary>
    private (int Credit, int Idle) Hunger()
    {
        if (_waiting.Count > 0 || _borrowed.Count > 0)
            return (0, 0);
        int credit = 0, idle = 0;
        foreach (var consumer in _rotation)
        {
            if (consumer.Kind != ConsumerKind.Worker)
                continue;
            credit += consumer.Demand;
            idle += consumer.Immediate;
        }
        return (credit, idle);
    }

    private Lender LenderOf(IActorRef partition)
    {
        if (_lenders.TryGetValue(partition, out var lender))
            return lender;
        lender = new Lender(partition);
        _lenders[partition] = lender;
        Context.Watch(partition);
        return lender;
    }

    private void SendBorrow(Lender lender)
    {
        var (credit, idle) = Hunger();
        lender.Ref.Tell(new Borrow(_name, credit, idle, lender.Held.ToArray(), lender.LastBatch, lender.Finished.ToArray()));
        lender.Finished.Clear();
        lender.Dirty = false;
        lender.SentCredit = credit;
        lender.SentIdle = idle;
        lender.SentAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Tasks lent to this partition: they wait for this node's workers, ahead of our own.</summary>
    private void OnLent(RunTasks run)
    {
        var lender = LenderOf(Sender);
        lender.LastBatch = Math.Max(lender.LastBatch, run.Batch);
        lender.Backlog = run.Backlog;
        foreach (var task in run.Tasks)
        {
            var lease = LeaseOf(task);
            if (_entries.TryGetValue(task.TaskId, out var existing) && existing.Task.Retries >= task.Retries)
            {
                // Held here already (ours since its first lender died, or lent twice): once is enough.
                lender.Finished.Add(lease);
                lender.Dirty = true;
                continue;
            }
            if (existing is { Holder: null })
                Discard(existing);
            var entry = new Entry(task, null, SizeOf(task)) { Lender = lender };
            entry.Node = _borrowed.AddLast(entry);
            _entries[task.TaskId] = entry;
            lender.Held.Add(lease);
        }
        Dispatch();
    }

    /// <summary>A batch the lender sent before this answer has not arrived, so it never will: settle past it and say so.</summary>
    private void OnLenderSynced(LeasesSynced synced)
    {
        if (!_lenders.TryGetValue(Sender, out var lender))
            return;
        lender.Backlog = synced.Backlog;
        if (synced.LastBatch <= lender.LastBatch)
            return;
        _log.Warning("Queue {0}: batch(es) {1} to {2} lent by {3} never arrived; their tasks are queued again", _name,
            lender.LastBatch + 1, synced.LastBatch, Sender.Path);
        lender.LastBatch = synced.LastBatch;
        SendBorrow(lender);
    }

    private void OnPartitionAvailable(PartitionAvailable available)
    {
        if (Sender.Equals(Self))
            return;
        // Always answered: the sender may not know this partition even when this one knows it (an answer was lost).
        if (!available.Answer)
            Sender.Tell(new PartitionAvailable(_name, Answer: true));
        if (_lenders.ContainsKey(Sender))
            return;
        var lender = LenderOf(Sender);
        if (Hunger().Credit > 0)
            SendBorrow(lender);
    }

    private void OnPeers(PeerHosts peers)
    {
        var added = peers.Hosts.Where(h => !_peers.Contains(h)).ToArray();
        _peers = peers.Hosts;
        if (_peers.Count > 0 && !Timers.IsTimerActive(Tick.Instance))
            Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _settings.StealInterval);
        foreach (var host in added)
            host.Tell(new PartitionAvailable(_name));
        if (_peers.Count == 0)
            SendFinds();
    }

    /// <summary>
    /// Every steal interval: borrowed tasks no worker here wants go back, the lenders hear this partition's credit if it
    /// changed (or a sync interval passed), reclaimed attempts are looked for, and every sync interval the other nodes
    /// hear that this partition is here.
    /// </summary>
    private void OnTick()
    {
        HandBackBorrowed();
        var (credit, idle) = Hunger();
        foreach (var lender in _lenders.Values)
        {
            if (lender.Dirty || lender.SentCredit != credit || lender.SentIdle != idle ||
                Stopwatch.GetElapsedTime(lender.SentAt) >= _settings.SyncInterval)
                SendBorrow(lender);
        }
        if (Stopwatch.GetElapsedTime(_lastAnnounced) >= _settings.SyncInterval)
        {
            _lastAnnounced = Stopwatch.GetTimestamp();
            foreach (var host in _peers)
                host.Tell(new PartitionAvailable(_name));
        }
        SendFinds();
    }

    /// <summary>Borrowed tasks wait here only while no worker of this node wants work: then they go back to their lender.</summary>
    private void HandBackBorrowed()
    {
        if (_borrowed.Count == 0 || _consumers.Values.Any(c => c.Kind == ConsumerKind.Worker && c.Demand > 0))
            return;
        foreach (var group in _borrowed.ToArray().GroupBy(e => e.Lender!))
        {
            var returned = group.Select(e => LeaseOf(e.Task)).ToArray();
            foreach (var entry in group)
            {
                _borrowed.Remove(entry.Node!);
                entry.Node = null;
                _entries.Remove(entry.Task.TaskId);
                group.Key.Held.Remove(LeaseOf(entry.Task));
            }
            group.Key.Ref.Tell(new WithdrawDemand(_name, returned));
            group.Key.SentCredit = 0;
            group.Key.SentIdle = 0;
        }
    }

    // Reclaimed attempts: looked for on the other nodes before they are queued here.

    private void Find(Entry entry)
    {
        entry.Finding = true;
        _finding++;
        _toFind.Add(entry);
    }

    /// <summary>In rounds of at most <see cref="MaxFindRound"/> attempts, so a recovery of many tasks never outgrows a remoting frame.</summary>
    private void SendFinds()
    {
        for (var start = 0; start < _toFind.Count; start += MaxFindRound)
            SendFindRound(_toFind.GetRange(start, Math.Min(MaxFindRound, _toFind.Count - start)).ToArray());
        _toFind.Clear();
    }

    private const int MaxFindRound = 1000;

    private void SendFindRound(Entry[] entries)
    {
        var round = new FindRound(++_lastRound, entries, _peers.Count);
        _rounds[round.Id] = round;
        if (round.Asked == 0)
        {
            CompleteRound(round, timedOut: false);
            return;
        }
        var attempts = round.Entries.Where(e => e.Finding).Select(e => new ReclaimedAttempt(LeaseOf(e.Task), e.Entity!)).ToArray();
        foreach (var host in _peers)
            host.Tell(new FindAttempts(_name, round.Id, attempts));
        Timers.StartSingleTimer(round, new FindTimedOut(round.Id), _settings.FindTimeout);
    }

    /// <summary>Another node reclaims attempts: those waiting, lent or leased here are taken over by their new entities.</summary>
    private void OnFind(FindAttempts find)
    {
        var found = new List<LeaseId>();
        foreach (var attempt in find.Attempts)
        {
            // A borrowed task is answered for by its lender, as long as that lives.
            if (!_entries.TryGetValue(attempt.Lease.TaskId, out var entry) || entry.Task.Retries != attempt.Lease.Retries ||
                entry.Finding || entry.Lender is not null)
                continue;
            entry.Entity = attempt.Entity;
            attempt.Entity.Tell(new TaskEnqueued(attempt.Lease.TaskId));
            found.Add(attempt.Lease);
        }
        Sender.Tell(new AttemptsFound(_name, find.Round, found));
    }

    private void OnFound(AttemptsFound found)
    {
        if (!_rounds.TryGetValue(found.Round, out var round))
            return;
        foreach (var lease in found.Found)
            round.Found.Add(lease);
        if (++round.Answers >= round.Asked)
            CompleteRound(round, timedOut: false);
    }

    /// <summary>What another partition holds was taken over there; the rest is queued here.</summary>
    private void CompleteRound(FindRound round, bool timedOut)
    {
        _rounds.Remove(round.Id);
        Timers.Cancel(round);
        if (timedOut)
            _log.Warning("Queue {0}: {1} of {2} node(s) did not say whether they hold {3} reclaimed task(s); queuing what the others do not hold",
                _name, round.Asked - round.Answers, round.Asked, round.Entries.Length);
        foreach (var entry in round.Entries)
        {
            if (!entry.Finding || !_entries.TryGetValue(entry.Task.TaskId, out var current) || current != entry)
                continue;
            entry.Finding = false;
            _finding--;
            if (round.Found.Contains(LeaseOf(entry.Task)))
                _entries.Remove(entry.Task.TaskId);
            else
                entry.Node = _waiting.AddLast(entry);
        }
        Dispatch();
    }

    /// <summary>What an envelope adds to a batch: its arguments as sent, and a little for ids and names.</summary>
    private static long SizeOf(TaskEnvelope task) => PayloadSize.Of(task.Args) + PayloadSize.Of(task.Kwargs) + 256;

    private static LeaseId LeaseOf(TaskEnvelope task) => new(task.TaskId, task.Retries);

    /// <summary>
    /// The newest attempt of a task: waiting (its node in a list), leased (its holder) or looked for on other nodes.
    /// <see cref="Entity"/> is null for a borrowed task (its lender knows the entity) until a new incarnation reclaims it.
    /// </summary>
    private sealed class Entry(TaskEnvelope task, IActorRef? entity, long size)
    {
        public TaskEnvelope Task { get; set; } = task;
        public IActorRef? Entity { get; set; } = entity;
        public long Size { get; set; } = size;
        public LinkedListNode<Entry>? Node { get; set; }
        public Consumer? Holder { get; set; }
        public Lender? Lender { get; set; }
        public bool Finding { get; set; }
    }

    private enum ConsumerKind
    {
        Worker,
        Borrower,
    }

    private sealed class Consumer(IActorRef consumer, ConsumerKind kind)
    {
        public IActorRef Ref { get; } = consumer;
        public ConsumerKind Kind { get; } = kind;
        public int Demand { get; set; }

        /// <summary>Slots that would start a task now; null when the consumer does not say (all demand counts).</summary>
        public int? Idle { get; set; }

        public int Immediate => Idle is { } idle ? Math.Min(idle, Demand) : Demand;

        /// <summary>The batch each lease went out in.</summary>
        public Dictionary<LeaseId, long> Leases { get; } = new();

        public long LastBatch { get; set; }
    }

    /// <summary>The partition of this queue on another node, as a lender: what it lent us and what we told it last.</summary>
    private sealed class Lender(IActorRef partition)
    {
        public IActorRef Ref { get; } = partition;
        public long LastBatch { get; set; }
        public int Backlog { get; set; }
        public HashSet<LeaseId> Held { get; } = new();
        public List<LeaseId> Finished { get; } = new();
        public bool Dirty { get; set; }
        public int SentCredit { get; set; } = -1;
        public int SentIdle { get; set; } = -1;
        public long SentAt { get; set; }
    }

    private sealed class FindRound(long id, Entry[] entries, int asked)
    {
        public long Id { get; } = id;
        public Entry[] Entries { get; } = entries;
        public int Asked { get; } = asked;
        public int Answers { get; set; }
        public HashSet<LeaseId> Found { get; } = new();
    }

    private sealed record FindTimedOut(long Round);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}

/// <param name="MaxBatchBytes">a batch of tasks never outgrows a remoting frame.</param>
public sealed record QueueSettings(long MaxBatchBytes)
{
    public static readonly QueueSettings Default = new(PayloadLimits.Default.MaxBatchBytes);

    /// <summary>How often a partition tells the others its credit when it changed (<c>jobs.queues.steal-interval</c>).</summary>
    public TimeSpan StealInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a reclaimed attempt waits for the other nodes to say whether they hold it (<c>jobs.queues.find-timeout</c>).</summary>
    public TimeSpan FindTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How often partitions repeat their credit and presence to each other (<c>jobs.worker.reconcile-interval</c>).</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(5);
}
