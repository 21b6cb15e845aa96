namespace Jobs.Actors.Workers;

/// <summary>
/// Celery's remote control, sent to a worker at <c>/user/worker</c> (every worker, or the one an operator names).
/// Each is answered with a <see cref="WorkerControlReply"/>; changes last until the worker stops.
/// </summary>
public interface IWorkerControlCommand : IJobsMessage;

/// <summary>
/// Starts of <see cref="TaskName"/> at most at <see cref="Rate"/> ("10/s", "100/m", "1000/h"); null lifts the limit.
/// The worker checks it again (<see cref="RateLimit.TryParse"/>) and refuses an invalid one.
/// </summary>
public sealed record SetRateLimit(string TaskName, string? Rate) : IWorkerControlCommand;

/// <summary>Soft and hard time limits of <see cref="TaskName"/> in seconds for attempts started from now on; 0 = none.</summary>
public sealed record SetTimeLimit(string TaskName, double Soft, double Hard) : IWorkerControlCommand
{
    /// <summary>The longest time limit accepted: a longer one is surely a mistake, and overflows timers.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(30);

    /// <summary>Why <paramref name="seconds"/> is not a time limit, or null; checked by the CLI, the HTTP API, the registry and the worker.</summary>
    public static string? Problem(double seconds, string what) =>
        double.IsFinite(seconds) && seconds >= 0 && seconds <= Longest.TotalSeconds
            ? null
            : $"{what} must be a number of seconds from 0 (none) to {Longest.TotalSeconds:0} (30 days), not {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>Celery's pool_grow (positive <see cref="Delta"/>) and pool_shrink (negative): task bodies run at once.</summary>
public sealed record ResizePool(int Delta) : IWorkerControlCommand;

/// <summary>Start taking tasks from <see cref="Queue"/>.</summary>
public sealed record AddConsumer(string Queue) : IWorkerControlCommand;

/// <summary>Stop taking tasks from <see cref="Queue"/>: held tasks go back to it, running ones finish.</summary>
public sealed record CancelConsumer(string Queue) : IWorkerControlCommand;

/// <summary>Drain (finish running bodies, give back held tasks), then leave the cluster and stop the node.</summary>
public sealed record ShutdownWorker : IWorkerControlCommand
{
    public static readonly ShutdownWorker Instance = new();
}

/// <summary>One worker's answer to a control command, Celery's <c>{"ok": …}</c> or <c>{"error": …}</c>.</summary>
public sealed record WorkerControlReply(string Hostname, bool Ok, string Message) : IJobsMessage;
