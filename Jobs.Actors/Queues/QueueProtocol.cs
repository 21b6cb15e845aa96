using System.Text.Json;
using Akka.Actor;

namespace Jobs.Actors.Queues;

// The work-pulling protocol between task entities, queues and workers. Remoting delivers at most once and in order
// per sender and receiver; a message can be lost without any DeathWatch (an address gated for 5 s, a frame over
// maximum-frame-size), so every hop here is either acknowledged and resent or reconciled with a deadline:
//   EnqueueTask   entity -> queue    acknowledged by TaskEnqueued, resent until then (enqueue-confirm-timeout)
//   RequestTasks  worker -> queue    incremental; its losses are repaired by the next SyncLeases
//   RunTasks      queue -> worker    numbered per consumer; SyncLeases / LeasesSynced find the lost ones
//   SyncLeases    worker -> queue    every reconcile-interval: absolute credit and the leases the worker holds
//   Borrow        partition -> partition, a SyncLeases between the partitions of one queue on two nodes: a node whose
//                 workers have free slots and nothing queued borrows from the others (README, "Queue partitions")
//   FindAttempts  partition -> every other node's host: is an attempt its entity may have lost track of held there?
// Messages are addressed by queue name only: a node's QueueHost routes them to its partition of that queue.

/// <summary>Every message a queue partition accepts; a node's <see cref="QueueHost"/> routes it by <see cref="Queue"/>.</summary>
public interface IQueueCommand : IJobsMessage
{
    string Queue { get; }
}

/// <summary>What a worker needs to run one attempt, carried so that no round trip is needed at dispatch.</summary>
public sealed record TaskEnvelope(
    string TaskId,
    string Name,
    JsonElement Args,
    JsonElement Kwargs,
    string Queue,
    int Retries,
    DateTimeOffset? ExpiresAt) : IJobsMessage;

/// <summary>One attempt of one task: what a lease is for. A retry is a new attempt, so it never shares a lease.</summary>
public sealed record LeaseId(string TaskId, int Retries);

/// <summary>
/// Sent by a task entity when its attempt is due. Idempotent by (task id, attempt): an attempt already waiting or
/// leased is not queued twice, and a newer attempt replaces a waiting older one. Answered with
/// <see cref="TaskEnqueued"/>, whose sender the entity watches; the queue remembers the sender as the entity to tell
/// when the lease is lost (<see cref="Tasks.LeaseLost"/>).
/// <see cref="Reclaim"/>: the entity may have lost track of where its attempt is (it was recovered from the journal, or
/// its partition died), so another node's partition may still hold or run it; the partition asks them before it queues
/// the attempt, and a partition that holds it takes the entity over instead.
/// </summary>
public sealed record EnqueueTask(string Queue, TaskEnvelope Task, bool Reclaim = false) : IQueueCommand;

public sealed record TaskEnqueued(string TaskId) : IJobsMessage;

/// <summary>
/// Work pulling: a worker asks for <see cref="Demand"/> more tasks and hands back the leases of the attempts it has
/// finished. The queue watches the worker and puts its unfinished leases back in front when it dies (acks late).
/// Not acknowledged: a lost request is repaired by the next <see cref="SyncLeases"/>.
/// <see cref="Idle"/>: how many of the worker's slots could start a task now (the rest of its demand is prefetch);
/// null counts all demand as idle slots. A partition fills idle slots first, its own node's before other nodes'.
/// </summary>
public sealed record RequestTasks(string Queue, int Demand, IReadOnlyList<LeaseId> Finished, int? Idle = null) : IQueueCommand;

/// <summary>
/// The worker's periodic account to one queue, absolute rather than incremental so that nothing lost adds up:
/// it has taken in every batch up to <see cref="SettledBatch"/> (or knows the missing ones were lost), it holds
/// exactly <see cref="Held"/> (waiting in it or running), and it wants <see cref="Credit"/> more beyond those. The
/// queue ends every lease from a settled batch that is not held (telling the task's entity, which enqueues it again
/// if it is still waiting), sets the worker's demand to the credit less what is still on its way, and answers
/// <see cref="LeasesSynced"/>. A worker the queue does not know is registered by it. <see cref="Idle"/> as in
/// <see cref="RequestTasks"/>.
/// </summary>
public sealed record SyncLeases(string Queue, int Credit, IReadOnlyList<LeaseId> Held, long SettledBatch, int? Idle = null) : IQueueCommand;

/// <summary>
/// The queue's answer to <see cref="SyncLeases"/>: the number of the last batch it sent the worker. Sent after that
/// batch on the same connection, so a worker that has not seen it by now never will: it settles up to it and syncs again.
/// <see cref="Backlog"/>: tasks still waiting in the queue, so a borrowing partition knows whether to ask again.
/// </summary>
public sealed record LeasesSynced(string Queue, long LastBatch, int Backlog = 0) : IJobsMessage;

/// <summary>
/// A worker stops taking work from this queue (graceful shutdown, <c>cancel-consumer</c>, tasks it cannot take): its
/// demand is dropped and the tasks it holds but has not started go back to the front of the queue.
/// </summary>
public sealed record WithdrawDemand(string Queue, IReadOnlyList<LeaseId> Returned) : IQueueCommand;

/// <summary>
/// A task was revoked: a waiting one leaves the queue; a leased one is cancelled on the worker holding it.
/// </summary>
public sealed record ForgetTask(string Queue, string TaskId, bool Terminate) : IQueueCommand;

/// <summary>Tells a worker to drop (not started) or cancel (running) an attempt; with Terminate, to free its slot now.</summary>
public sealed record CancelAttempt(string TaskId, bool Terminate) : IJobsMessage;

/// <summary>The queue's answer to a worker's first request; the worker watches its sender.</summary>
public sealed record ConsumerRegistered(string Queue) : IJobsMessage;

/// <summary>
/// Tasks leased to a worker, at most as many as it asked for and at most the queue's batch budget in bytes (so the
/// message fits in a remoting frame). <see cref="Batch"/> numbers the batches to one worker from 1, in order.
/// <see cref="Backlog"/>: tasks still waiting after this batch (a borrowing partition asks again at once while there are).
/// </summary>
public sealed record RunTasks(string Queue, IReadOnlyList<TaskEnvelope> Tasks, long Batch = 0, int Backlog = 0) : IJobsMessage;

/// <summary>
/// The partition of one node to the partition of the same queue on another node: this node's workers have free
/// slots and nothing is queued here. A <see cref="SyncLeases"/> of its own, absolute and repeated: it can take
/// <see cref="Credit"/> more tasks, <see cref="Idle"/> of them to start at once; it holds <see cref="Held"/> of the
/// lender's leases; it has taken in every batch up to <see cref="SettledBatch"/>; <see cref="Finished"/> are leases
/// its workers finished. The lender lends only what its own workers' idle slots do not take, and before filling
/// their prefetch only to idle slots; it answers <see cref="LeasesSynced"/> (and <see cref="ConsumerRegistered"/> at
/// first). Borrowed tasks are never lent on. A lease the borrower does not hold is ended and its entity told
/// <see cref="Tasks.LeaseLost"/>, as for a worker; when the borrower dies, every entity of a lease it held is told so.
/// </summary>
public sealed record Borrow(string Queue, int Credit, int Idle, IReadOnlyList<LeaseId> Held, long SettledBatch, IReadOnlyList<LeaseId> Finished)
    : IQueueCommand;

/// <summary>
/// A partition of this queue is on the sender's node (sent through each other node's host when it starts, when a node joins,
/// and every sync interval): the receiving partition learns it as a peer to borrow from, borrows at once if its workers
/// wait, and answers (<see cref="Answer"/>, never answered itself) so that the sender learns it too.
/// </summary>
public sealed record PartitionAvailable(string Queue, bool Answer = false) : IQueueCommand;

/// <summary>
/// Asked by a partition of every other node's host, which hands it to its partition of the queue or answers itself
/// that it holds none: are these attempts (enqueued with <see cref="EnqueueTask.Reclaim"/>) waiting, lent or leased
/// there? A partition that holds one takes its entity over (telling it <see cref="TaskEnqueued"/>) and names it in
/// <see cref="AttemptsFound"/>; the asking partition queues only what no partition holds.
/// </summary>
public sealed record FindAttempts(string Queue, long Round, IReadOnlyList<ReclaimedAttempt> Attempts) : IQueueCommand;

/// <param name="Entity">the task entity's new incarnation, which the holder tells if the lease is lost.</param>
public sealed record ReclaimedAttempt(LeaseId Lease, IActorRef Entity);

public sealed record AttemptsFound(string Queue, long Round, IReadOnlyList<LeaseId> Found) : IJobsMessage;

/// <summary>The hosts of the other nodes that hold partitions, told by a host to its partitions whenever they change.</summary>
public sealed record PeerHosts(IReadOnlyList<IActorRef> Hosts) : IJobsMessage;

/// <summary>
/// To a node's <see cref="QueueHost"/>: the queue's length summed over the partitions of every node (the host asks
/// each node's host for <see cref="GetPartitionStats"/>), answered with <see cref="QueueStats"/> and its
/// <see cref="QueueStats.Partitions"/>. Sent straight to one partition: that partition's own figures.
/// </summary>
public sealed record GetQueueStats(string Queue) : IQueueCommand;

/// <summary>One node's partition of a queue, answered with its <see cref="QueueStats"/> (zeros when it has none).</summary>
public sealed record GetPartitionStats(string Queue) : IJobsMessage;

/// <param name="Waiting">tasks waiting (borrowed ones counted where they wait, never twice).</param>
/// <param name="Leased">tasks handed to workers and not yet finished.</param>
/// <param name="Consumers">workers registered.</param>
/// <param name="Partitions">per node, in a cluster-wide answer.</param>
public sealed record QueueStats(string Queue, int Waiting, int Leased, int Consumers, IReadOnlyList<PartitionStats>? Partitions = null) : IJobsMessage;

public sealed record PartitionStats(string Node, int Waiting, int Leased, int Consumers);

/// <summary>To a node's <see cref="QueueHost"/>: the queues each node holds a partition of, answered with <see cref="QueuePartitions"/>.</summary>
public sealed record GetQueuePartitions : IJobsMessage
{
    public static readonly GetQueuePartitions Instance = new();
}

/// <summary>Every node's partitions, by node address.</summary>
public sealed record QueuePartitions(IReadOnlyList<NodePartitions> Nodes) : IJobsMessage;

public sealed record NodePartitions(string Node, IReadOnlyList<string> Queues);

/// <summary>One host's own partitions, answered with <see cref="LocalPartitions"/>.</summary>
public sealed record GetLocalPartitions : IJobsMessage
{
    public static readonly GetLocalPartitions Instance = new();
}

public sealed record LocalPartitions(IReadOnlyList<string> Queues) : IJobsMessage;
