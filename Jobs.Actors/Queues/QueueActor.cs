using Akka.Actor;
using Akka.Event;
using Jobs.Actors.Serialization;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Queues;

/// <summary>
/// One named queue (Celery's broker queue), sharded by name. It holds only what task entities have journaled
/// already, so it is not persistent: when it dies, entities that watch it enqueue again and workers that
/// watch it ask again. Tasks go out only against demand, so a worker never holds more than it asked for.
/// A lease is one attempt of one task; a worker's periodic <see cref="SyncLeases"/> ends the leases it does not
/// hold, so none is held for ever by a message lost on the way.
/// </summary>
public sealed class QueueActor : ReceiveActor
{
    private readonly string _name;
    private readonly long _maxBatchBytes;
    private readonly LinkedList<Entry> _waiting = new();
    private readonly Dictionary<string, Entry> _entries = new();
    private readonly Dictionary<IActorRef, Consumer> _consumers = new();
    private readonly List<Consumer> _rotation = new();
    private int _next;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public QueueActor(string name, long maxBatchBytes)
    {
        _name = name;
        _maxBatchBytes = maxBatchBytes;
        Receive<EnqueueTask>(Enqueue);
        Receive<RequestTasks>(OnRequest);
        Receive<SyncLeases>(OnSync);
        Receive<WithdrawDemand>(OnWithdraw);
        Receive<ForgetTask>(Forget);
        Receive<Terminated>(t => RemoveConsumer(t.ActorRef));
        Receive<GetQueueStats>(_ => Sender.Tell(new QueueStats(_name, _waiting.Count, _consumers.Values.Sum(c => c.Leases.Count), _consumers.Count)));
        // Sharding's stop message on hand-off (one for every region; a queue has nothing to finish first).
        Receive<Hosting.StopEntity>(_ => Context.Stop(Self));
    }

    /// <summary>
    /// Supervision: a failure stops the queue rather than restarting it, since a restart would keep this ref and wipe
    /// what it holds unseen. Stopped, it fires the DeathWatch of its entities and workers, who enqueue and ask again at
    /// its next incarnation (sharding starts one on the next message).
    /// </summary>
    protected override void PreRestart(Exception reason, object message)
    {
        _log.Error(reason, "Queue {0} failed on {1}; it stops, and its entities and workers start over with its successor",
            _name, message?.GetType().Name ?? "a message");
        Context.Stop(Self);
    }

    public static Props Props(string name, long maxBatchBytes) => FactoryProps.Of(() => new QueueActor(name, maxBatchBytes));

    public static Props Props(string name) => Props(name, PayloadLimits.Default.MaxBatchBytes);

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
        else if (entry?.Node is not null)
        {
            // A newer attempt replaces an older one still waiting, in its place: the older would only run stale.
            entry.Task = task;
            entry.Entity = Sender;
            entry.Size = SizeOf(task);
        }
        else
        {
            // New, or a newer attempt while the older one is still leased (a zero-countdown retry can arrive before
            // the worker hands the old lease back): the old lease ends on its own, by its attempt number.
            var fresh = new Entry(task, Sender, SizeOf(task));
            fresh.Node = _waiting.AddLast(fresh);
            _entries[task.TaskId] = fresh;
        }
        Sender.Tell(new TaskEnqueued(task.TaskId));
        Dispatch();
    }

    private void OnRequest(RequestTasks request)
    {
        var consumer = ConsumerOf(Sender);
        foreach (var lease in request.Finished)
            EndLease(consumer, lease);
        consumer.Demand += request.Demand;
        Dispatch();
    }

    /// <summary>
    /// A worker's account of what it holds. Leases from batches it has settled but does not hold were lost on the
    /// way (the batch, or its hand-back or finished ack): their entities decide, since only they know whether the
    /// attempt still has to run. Demand becomes the worker's credit less what is still on its way to it.
    /// </summary>
    private void OnSync(SyncLeases sync)
    {
        var consumer = ConsumerOf(Sender);
        var held = sync.Held.ToHashSet();
        var inFlight = 0;
        List<LeaseId>? ended = null;
        foreach (var (lease, batch) in consumer.Leases)
        {
            if (batch > sync.SettledBatch)
                inFlight++;
            else if (!held.Contains(lease))
                (ended ??= new List<LeaseId>()).Add(lease);
        }
        if (ended is not null)
        {
            var lost = 0;
            foreach (var lease in ended)
            {
                consumer.Leases.Remove(lease);
                if (!IsCurrentLease(consumer, lease, out var entry))
                    continue;
                _entries.Remove(lease.TaskId);
                entry.Entity.Tell(new LeaseLost(lease.TaskId, lease.Retries));
                lost++;
            }
            if (lost > 0)
                _log.Warning("Queue {0}: worker {1} does not hold {2} task(s) leased to it; their tasks are told to enqueue again",
                    _name, consumer.Worker.Path, lost);
        }
        consumer.Demand = Math.Max(0, sync.Credit - inFlight);
        // Before any new batch, so the worker knows every batch up to this number has reached it or never will.
        Sender.Tell(new LeasesSynced(_name, consumer.LastBatch));
        Dispatch();
    }

    private void Forget(ForgetTask forget)
    {
        if (!_entries.TryGetValue(forget.TaskId, out var entry))
            return;
        if (entry.Node is { } waiting)
        {
            _waiting.Remove(waiting);
            _entries.Remove(forget.TaskId);
            return;
        }
        entry.Holder?.Worker.Tell(new CancelAttempt(forget.TaskId, forget.Terminate));
    }

    private void OnWithdraw(WithdrawDemand withdraw)
    {
        if (!_consumers.TryGetValue(Sender, out var consumer))
            return;
        consumer.Demand = 0;
        foreach (var lease in withdraw.Returned)
            ReturnLease(consumer, lease);
        Dispatch();
    }

    private void RemoveConsumer(IActorRef worker)
    {
        if (!_consumers.Remove(worker, out var consumer))
            return;
        _rotation.Remove(consumer);
        var held = consumer.Leases.Count;
        // Acks late: what the dead worker held goes back to the front of the queue.
        foreach (var lease in consumer.Leases.Keys.ToArray())
            ReturnLease(consumer, lease);
        if (held > 0)
            _log.Warning("Queue {0}: worker {1} died holding {2} task(s); they are queued again", _name, worker.Path, held);
        Dispatch();
    }

    private Consumer ConsumerOf(IActorRef worker)
    {
        if (_consumers.TryGetValue(worker, out var consumer))
            return consumer;
        consumer = new Consumer(worker);
        _consumers[worker] = consumer;
        _rotation.Add(consumer);
        Context.Watch(worker);
        worker.Tell(new ConsumerRegistered(_name));
        return consumer;
    }

    /// <summary>The attempt finished: its lease ends, and so does the task's entry unless a newer attempt took it over.</summary>
    private void EndLease(Consumer consumer, LeaseId lease)
    {
        if (consumer.Leases.Remove(lease) && IsCurrentLease(consumer, lease, out _))
            _entries.Remove(lease.TaskId);
    }

    /// <summary>Back to the front of the queue, unless a newer attempt of the task replaced it meanwhile.</summary>
    private void ReturnLease(Consumer consumer, LeaseId lease)
    {
        if (!consumer.Leases.Remove(lease) || !IsCurrentLease(consumer, lease, out var entry))
            return;
        entry.Holder = null;
        entry.Node = _waiting.AddFirst(entry);
    }

    private bool IsCurrentLease(Consumer consumer, LeaseId lease, out Entry entry) =>
        _entries.TryGetValue(lease.TaskId, out entry!) && entry.Holder == consumer && entry.Task.Retries == lease.Retries;

    private void Dispatch()
    {
        while (_waiting.Count > 0 && _rotation.Count > 0)
        {
            var consumer = NextWithDemand();
            if (consumer is null)
                return;
            var number = ++consumer.LastBatch;
            var batch = new List<TaskEnvelope>(Math.Min(consumer.Demand, _waiting.Count));
            var bytes = 0L;
            // Split by bytes as well as by demand, so a batch never outgrows a remoting frame.
            while (consumer.Demand > 0 && _waiting.First is { } first && (batch.Count == 0 || bytes + first.Value.Size <= _maxBatchBytes))
            {
                var entry = first.Value;
                _waiting.RemoveFirst();
                entry.Node = null;
                entry.Holder = consumer;
                consumer.Leases[new LeaseId(entry.Task.TaskId, entry.Task.Retries)] = number;
                consumer.Demand--;
                bytes += entry.Size;
                batch.Add(entry.Task);
            }
            consumer.Worker.Tell(new RunTasks(_name, batch, number));
        }
    }

    /// <summary>Round robin over the consumers that want work, so every worker gets its share.</summary>
    private Consumer? NextWithDemand()
    {
        for (var i = 0; i < _rotation.Count; i++)
        {
            var consumer = _rotation[(_next + i) % _rotation.Count];
            if (consumer.Demand > 0)
            {
                _next = (_next + i + 1) % _rotation.Count;
                return consumer;
            }
        }
        return null;
    }

    /// <summary>What an envelope adds to a batch: its arguments as sent, and a little for ids and names.</summary>
    private static long SizeOf(TaskEnvelope task) => PayloadSize.Of(task.Args) + PayloadSize.Of(task.Kwargs) + 256;

    /// <summary>The newest attempt of a task: waiting (its node in the queue) or leased (its holder).</summary>
    private sealed class Entry(TaskEnvelope task, IActorRef entity, long size)
    {
        public TaskEnvelope Task { get; set; } = task;
        public IActorRef Entity { get; set; } = entity;
        public long Size { get; set; } = size;
        public LinkedListNode<Entry>? Node { get; set; }
        public Consumer? Holder { get; set; }
    }

    private sealed class Consumer(IActorRef worker)
    {
        public IActorRef Worker { get; } = worker;
        public int Demand { get; set; }

        /// <summary>The batch each lease went out in.</summary>
        public Dictionary<LeaseId, long> Leases { get; } = new();

        public long LastBatch { get; set; }
    }
}
