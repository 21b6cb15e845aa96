using System.Text.Json;
using Akka.Actor;

namespace Jobs.Actors.Monitoring;

/// <summary>The DistributedPubSub topics every event travels on, cluster-wide.</summary>
public static class MonitoringTopics
{
    public const string Tasks = "jobs-task-events";
    public const string Workers = "jobs-worker-events";
}

/// <summary>Celery's event types (<c>celery.events</c>), as they appear on the wire.</summary>
public static class EventTypes
{
    public const string TaskSent = "task-sent";
    public const string TaskReceived = "task-received";
    public const string TaskStarted = "task-started";
    public const string TaskSucceeded = "task-succeeded";
    public const string TaskFailed = "task-failed";
    public const string TaskRetried = "task-retried";
    public const string TaskRevoked = "task-revoked";
    public const string WorkerOnline = "worker-online";
    public const string WorkerHeartbeat = "worker-heartbeat";
    public const string WorkerOffline = "worker-offline";
}

/// <summary>
/// A task event with the fields Celery's carry. <see cref="State"/> is the Celery state after the event;
/// <see cref="Name"/> and <see cref="Args"/> ride on every event so a subscriber needs no lookup.
/// <see cref="JournalSequenceNr"/> is the journaled event's sequence number in its task's journal (0 for an event never
/// journaled: task-sent, task-started): the index records it, so the journal sweep reads only the events it lacks.
/// </summary>
public sealed record TaskEvent(
    string Type,
    string Uuid,
    string? Name,
    string State,
    DateTimeOffset Timestamp,
    string? Hostname = null,
    JsonElement? Args = null,
    JsonElement? Kwargs = null,
    JsonElement? Result = null,
    string? Exception = null,
    string? Traceback = null,
    double? Runtime = null,
    int Retries = 0,
    string? Queue = null,
    DateTimeOffset? Eta = null,
    DateTimeOffset? Expires = null,
    DateTimeOffset? Started = null,
    string? Reason = null,
    long JournalSequenceNr = 0) : IJobsMessage;

/// <summary>
/// The task events a node published in one interval, in the order they were published (see
/// <see cref="TaskEventBatcher"/>): one pub-sub message, and one remote message per subscribing node, for many events.
/// <see cref="Publisher"/> names the batcher's incarnation and <see cref="Number"/> counts its batches from 1, so a
/// monitor that sees a number skipped knows the live feed lost a batch (empty and 0: an unnumbered publisher).
/// </summary>
public sealed record TaskEventBatch(IReadOnlyList<TaskEvent> Events, string Publisher = "", long Number = 0) : IJobsMessage;

/// <summary>Asks a <see cref="TaskMonitor"/> for its <see cref="SweepStatus"/>.</summary>
public sealed class GetSweepStatus
{
    public static readonly GetSweepStatus Instance = new();

    private GetSweepStatus()
    {
    }
}

/// <summary>
/// The monitor's journal sweeps: how many have ended, whether one runs, how many more are wanted because the live feed
/// may have missed events, why the last one was wanted, and how many numbered publishers the monitor follows.
/// </summary>
public sealed record SweepStatus(long Ended, bool Running, int Wanted, string LastReason, int Publishers);

/// <summary>
/// A worker event (Celery's <c>worker-online</c>, <c>worker-heartbeat</c>, <c>worker-offline</c>). <see cref="Address"/>
/// is the worker's cluster address, so a monitor can mark it offline when its member leaves or becomes unreachable.
/// </summary>
public sealed record WorkerEvent(
    string Type,
    string Hostname,
    string Address,
    DateTimeOffset Timestamp,
    double Freq,
    int Active,
    IReadOnlyList<string> ActiveTasks,
    long Processed,
    long Succeeded,
    long Failed,
    long Retried,
    int Reserved,
    int Concurrency,
    int Prefetch,
    IReadOnlyList<string> Queues,
    IReadOnlyList<double> Loadavg,
    double Uptime,
    string SwIdent,
    string SwVer,
    string SwSys) : IJobsMessage;

/// <summary>A local subscriber (one per SSE connection) asks the node's monitor for every event it sees.</summary>
public sealed record SubscribeEvents(IActorRef Subscriber);

public sealed record UnsubscribeEvents(IActorRef Subscriber);

/// <summary>Answers an <see cref="EventStreamCount"/>: how many live streams (SSE connections) the monitor feeds.</summary>
public sealed record GetEventStreamCount
{
    public static readonly GetEventStreamCount Instance = new();
}

public sealed record EventStreamCount(int Count);

/// <summary>Answers a <see cref="WorkerList"/>: the workers the monitor has heard of, online or not.</summary>
public sealed record GetWorkers
{
    public static readonly GetWorkers Instance = new();
}

public sealed record WorkerView(WorkerEvent Last, bool Online, DateTimeOffset LastHeartbeat);

public sealed record WorkerList(IReadOnlyList<WorkerView> Workers);

/// <summary>Answers a <see cref="TaskPage"/>; a query the index cannot run answers a <see cref="Status.Failure"/>.</summary>
public sealed record GetTasks(TaskQuery Query);

public sealed record TaskPage(long Total, IReadOnlyList<TaskRow> Tasks);

/// <summary>Answers a <see cref="TaskTimeline"/>, oldest event first; an unknown id has no row.</summary>
public sealed record GetTaskTimeline(string Uuid);

/// <summary><see cref="Events"/> are the events' JSON texts in the shape of <see cref="MonitoringJson.Event"/>.</summary>
public sealed record TaskTimeline(TaskRow? Task, IReadOnlyList<string> Events);

/// <summary>Answers <see cref="TaskCounts"/>: tasks in the index by name and state, for the metrics.</summary>
public sealed record GetTaskCounts
{
    public static readonly GetTaskCounts Instance = new();
}

public sealed record TaskCounts(IReadOnlyList<(string Name, string State, long Count)> Counts);
