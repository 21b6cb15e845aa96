using Akka.Actor;
using Akka.Event;

namespace Jobs.Actors.Queues;

/// <summary>
/// One named queue (Celery's broker queue), sharded by name. It holds only what task entities have journaled
/// already, so it is not persistent: when it dies, entities that watch it enqueue again and workers that
/// watch it ask again. Tasks go out only against demand, so a worker never holds more than it asked for.
/// </summary>
public sealed class QueueActor : ReceiveActor
{
    private readonly string _name;
    private readonly LinkedList<TaskEnvelope> _waiting = new();
    private readonly Dictionary<string, Entry> _byTaskId = new();
    private readonly Dictionary<IActorRef, Consumer> _consumers = new();
    private readonly List<Consumer> _rotation = new();
    private int _next;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public QueueActor(string name)
    {
        _name = name;
        Receive<EnqueueTask>(Enqueue);
        Receive<RequestTasks>(OnRequest);
        Receive<WithdrawDemand>(OnWithdraw);
        Receive<ForgetTask>(Forget);
        Receive<Terminated>(t => RemoveConsumer(t.ActorRef));
        Receive<GetQueueStats>(_ => Sender.Tell(new QueueStats(_name, _waiting.Count, _byTaskId.Count - _waiting.Count, _consumers.Count)));
        // Sharding's stop message on hand-off (one for every region; a queue has nothing to finish first).
        Receive<Hosting.StopEntity>(_ => Context.Stop(Self));
    }

    public static Props Props(string name) => FactoryProps.Of(() => new QueueActor(name));

    private void Enqueue(EnqueueTask command)
    {
        if (!_byTaskId.ContainsKey(command.Task.TaskId))
            _byTaskId[command.Task.TaskId] = new Entry(_waiting.AddLast(command.Task), null);
        Sender.Tell(new TaskEnqueued(command.Task.TaskId));
        Dispatch();
    }

    private void OnRequest(RequestTasks request)
    {
        if (!_consumers.TryGetValue(Sender, out var consumer))
        {
            consumer = new Consumer(Sender);
            _consumers[Sender] = consumer;
            _rotation.Add(consumer);
            Context.Watch(Sender);
            Sender.Tell(new ConsumerRegistered(_name));
        }
        foreach (var taskId in request.Finished)
        {
            if (consumer.Leases.Remove(taskId))
                _byTaskId.Remove(taskId);
        }
        consumer.Demand += request.Demand;
        Dispatch();
    }

    private void Forget(ForgetTask forget)
    {
        if (!_byTaskId.TryGetValue(forget.TaskId, out var entry))
            return;
        if (entry.Node is { } waiting)
        {
            _waiting.Remove(waiting);
            _byTaskId.Remove(forget.TaskId);
            return;
        }
        var holder = _consumers.Values.FirstOrDefault(c => c.Leases.Contains(forget.TaskId));
        holder?.Worker.Tell(new CancelAttempt(forget.TaskId, forget.Terminate));
    }

    private void OnWithdraw(WithdrawDemand withdraw)
    {
        if (!_consumers.TryGetValue(Sender, out var consumer))
            return;
        consumer.Demand = 0;
        foreach (var taskId in withdraw.Returned)
        {
            if (consumer.Leases.Remove(taskId) && _byTaskId.TryGetValue(taskId, out var entry) && entry.Task is { } task)
                _byTaskId[taskId] = new Entry(_waiting.AddFirst(task), null);
        }
        Dispatch();
    }

    private void RemoveConsumer(IActorRef worker)
    {
        if (!_consumers.Remove(worker, out var consumer))
            return;
        _rotation.Remove(consumer);
        // Acks late: what the dead worker held goes back to the front of the queue.
        foreach (var taskId in consumer.Leases)
        {
            if (_byTaskId.TryGetValue(taskId, out var entry) && entry.Task is { } task)
                _byTaskId[taskId] = new Entry(_waiting.AddFirst(task), null);
        }
        if (consumer.Leases.Count > 0)
            _log.Warning("Queue {0}: worker {1} died holding {2} task(s); they are queued again", _name, worker.Path, consumer.Leases.Count);
        Dispatch();
    }

    private void Dispatch()
    {
        while (_waiting.Count > 0 && _rotation.Count > 0)
        {
            var consumer = NextWithDemand();
            if (consumer is null)
                return;
            var batch = new List<TaskEnvelope>(Math.Min(consumer.Demand, _waiting.Count));
            while (consumer.Demand > 0 && _waiting.First is { } first)
            {
                _waiting.RemoveFirst();
                _byTaskId[first.Value.TaskId] = new Entry(null, first.Value);
                consumer.Leases.Add(first.Value.TaskId);
                consumer.Demand--;
                batch.Add(first.Value);
            }
            consumer.Worker.Tell(new RunTasks(_name, batch));
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

    /// <summary>A task is either waiting (its list node) or leased (the envelope, kept to queue it again).</summary>
    private readonly record struct Entry(LinkedListNode<TaskEnvelope>? Node, TaskEnvelope? Task);

    private sealed class Consumer(IActorRef worker)
    {
        public IActorRef Worker { get; } = worker;
        public int Demand { get; set; }
        public HashSet<string> Leases { get; } = new();
    }
}
