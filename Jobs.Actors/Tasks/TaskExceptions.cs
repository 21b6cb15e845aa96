namespace Jobs.Actors.Tasks;

/// <summary>A command that was certainly not carried out: nothing was stored, so sending it again is the remedy.</summary>
public class TaskNotAcceptedException(string taskId, string message) : Exception(message)
{
    /// <summary>The task's (or canvas's) id: send again with this id.</summary>
    public string TaskId { get; } = taskId;
}

/// <summary>
/// A command whose write was not confirmed: it may or may not have been stored (and a submitted task may run). Ask
/// for <see cref="TaskId"/>, or send the command again with the same id: both are safe.
/// </summary>
public sealed class TaskOutcomeUnknownException(string taskId, string message) : Exception(message)
{
    public string TaskId { get; } = taskId;
}

/// <summary>A task could not be read now (its entity could not start, or is moving); nothing was changed.</summary>
public sealed class TaskUnavailableException(string taskId, string message) : Exception(message)
{
    public string TaskId { get; } = taskId;
}

internal static class CommandFailures
{
    /// <summary>What a client throws for a <see cref="CommandFailed"/> answer to a command that writes.</summary>
    public static Exception ForWrite(CommandFailed failed) => failed.OutcomeUnknown
        ? new TaskOutcomeUnknownException(failed.Id, failed.Reason)
        : new TaskNotAcceptedException(failed.Id, failed.Reason);
}
