using Akka.Event;

namespace Jobs.Actors.Tasks;

/// <summary>Celery's task logger: every line is tagged with the task's name and id, <c>tasks.add[id]: message</c>.</summary>
public sealed class TaskLogger(ILoggingAdapter log, string taskName, string taskId)
{
    public void Debug(string message) => log.Debug("{0}[{1}]: {2}", taskName, taskId, message);

    public void Info(string message) => log.Info("{0}[{1}]: {2}", taskName, taskId, message);

    public void Warning(string message) => log.Warning("{0}[{1}]: {2}", taskName, taskId, message);

    public void Error(string message) => log.Error("{0}[{1}]: {2}", taskName, taskId, message);

    public void Error(Exception exception, string message) => log.Error(exception, "{0}[{1}]: {2}", taskName, taskId, message);
}
