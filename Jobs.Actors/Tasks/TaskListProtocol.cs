using Akka.Actor;

namespace Jobs.Actors.Tasks;

/// <summary>
/// Published on its node's event stream by a task entity that waits for its due time (countdown, eta or a retry's
/// backoff). Local only: the node's <see cref="ScheduledTaskRegistry"/> keeps it and watches <see cref="Entity"/>.
/// </summary>
public sealed record TaskWaiting(string TaskId, string Name, string Queue, DateTimeOffset DueAt, int Retries, IActorRef Entity);

/// <summary>Published when a waiting task became due, finished or was revoked. Local only.</summary>
public sealed record TaskNoLongerWaiting(string TaskId);

/// <summary>Answered by each node's scheduled-task registry with <see cref="ScheduledTasks"/> (Celery's inspect scheduled).</summary>
public sealed record GetScheduledTasks : IJobsMessage
{
    public static readonly GetScheduledTasks Instance = new();
}

public sealed record ScheduledTask(string TaskId, string Name, string Queue, DateTimeOffset DueAt, int Retries) : IJobsMessage;

public sealed record ScheduledTasks(IReadOnlyList<ScheduledTask> Tasks) : IJobsMessage;

/// <summary>An entry of the cluster's list of recently revoked tasks (Celery's inspect revoked).</summary>
public sealed record RevokedTaskEntry(string TaskId, string Reason, DateTimeOffset RevokedAt) : IJobsMessage;
