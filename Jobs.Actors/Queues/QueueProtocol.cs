using System.Text.Json;

namespace Jobs.Actors.Queues;

// The work-pulling protocol between task entities, queues and workers. Remoting delivers at most once and in order
// per sender and receiver; a message can be lost without any DeathWatch (an address gated for 5 s, a frame over
// maximum-frame-size), so every hop here is either acknowledged and resent or reconciled with a deadline:
//   EnqueueTask   entity -> queue    acknowledged by TaskEnqueued, resent until then (enqueue-confirm-timeout)
//   RequestTasks  worker -> queue    incremental; its losses are repaired by the next SyncLeases
//   RunTasks      queue -> worker    numbered per consumer; SyncLeases / LeasesSynced find the lost ones
//   SyncLeases    worker -> queue    every reconcile-interval: absolute credit and the leases the worker holds
// Messages are addressed by queue name only, so the same protocol holds whichever actor owns a queue.

/// <summary>Every message a queue actor accepts; the sharding extractor routes it by <see cref="Queue"/>.</summary>
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
/// </summary>
public sealed record EnqueueTask(string Queue, TaskEnvelope Task) : IQueueCommand;

public sealed record TaskEnqueued(string TaskId) : IJobsMessage;

/// <summary>
/// Work pulling: a worker asks for <see cref="Demand"/> more tasks and hands back the leases of the attempts it has
/// finished. The queue watches the worker and puts its unfinished leases back in front when it dies (acks late).
/// Not acknowledged: a lost request is repaired by the next <see cref="SyncLeases"/>.
/// </summary>
public sealed record RequestTasks(string Queue, int Demand, IReadOnlyList<LeaseId> Finished) : IQueueCommand;

/// <summary>
/// The worker's periodic account to one queue, absolute rather than incremental so that nothing lost adds up:
/// it has taken in every batch up to <see cref="SettledBatch"/> (or knows the missing ones were lost), it holds
/// exactly <see cref="Held"/> (waiting in it or running), and it wants <see cref="Credit"/> more beyond those. The
/// queue ends every lease from a settled batch that is not held (telling the task's entity, which enqueues it again
/// if it is still waiting), sets the worker's demand to the credit less what is still on its way, and answers
/// <see cref="LeasesSynced"/>. A worker the queue does not know is registered by it.
/// </summary>
public sealed record SyncLeases(string Queue, int Credit, IReadOnlyList<LeaseId> Held, long SettledBatch) : IQueueCommand;

/// <summary>
/// The queue's answer to <see cref="SyncLeases"/>: the number of the last batch it sent the worker. Sent after that
/// batch on the same connection, so a worker that has not seen it by now never will: it settles up to it and syncs again.
/// </summary>
public sealed record LeasesSynced(string Queue, long LastBatch) : IJobsMessage;

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
/// </summary>
public sealed record RunTasks(string Queue, IReadOnlyList<TaskEnvelope> Tasks, long Batch = 0) : IJobsMessage;

public sealed record GetQueueStats(string Queue) : IQueueCommand;

public sealed record QueueStats(string Queue, int Waiting, int Leased, int Consumers) : IJobsMessage;
