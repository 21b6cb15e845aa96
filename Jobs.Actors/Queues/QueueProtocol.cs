using System.Text.Json;

namespace Jobs.Actors.Queues;

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

/// <summary>
/// Sent by a task entity when its attempt is due. Idempotent by task id: a task already waiting or leased is
/// not queued twice. Answered with <see cref="TaskEnqueued"/>, whose sender the entity watches.
/// </summary>
public sealed record EnqueueTask(string Queue, TaskEnvelope Task) : IQueueCommand;

public sealed record TaskEnqueued(string TaskId) : IJobsMessage;

/// <summary>
/// Work pulling: a worker asks for <see cref="Demand"/> more tasks and hands back the leases of the tasks it has
/// finished. The queue watches the worker and puts its unfinished leases back in front when it dies (acks late).
/// </summary>
public sealed record RequestTasks(string Queue, int Demand, IReadOnlyList<string> Finished) : IQueueCommand;

/// <summary>
/// A worker stops taking work from this queue (graceful shutdown, <c>cancel-consumer</c>): its demand is dropped
/// and the tasks it holds but has not started go back to the front of the queue.
/// </summary>
public sealed record WithdrawDemand(string Queue, IReadOnlyList<string> Returned) : IQueueCommand;

/// <summary>
/// A task was revoked: a waiting one leaves the queue; a leased one is cancelled on the worker holding it.
/// </summary>
public sealed record ForgetTask(string Queue, string TaskId, bool Terminate) : IQueueCommand;

/// <summary>Tells a worker to drop (not started) or cancel (running) an attempt; with Terminate, to free its slot now.</summary>
public sealed record CancelAttempt(string TaskId, bool Terminate) : IJobsMessage;

/// <summary>The queue's answer to a worker's first request; the worker watches its sender.</summary>
public sealed record ConsumerRegistered(string Queue) : IJobsMessage;

/// <summary>Tasks leased to a worker, at most as many as it asked for.</summary>
public sealed record RunTasks(string Queue, IReadOnlyList<TaskEnvelope> Tasks) : IJobsMessage;

public sealed record GetQueueStats(string Queue) : IQueueCommand;

public sealed record QueueStats(string Queue, int Waiting, int Leased, int Consumers) : IJobsMessage;
