using Akka.Actor;
using Akka.Event;

namespace Jobs.Actors.Tasks;

/// <summary>
/// Answers task commands that ended in dead letters instead of leaving their askers to time out. That is what
/// happens when a task entity cannot start because the journal is down (its recovery fails, and the messages
/// it held are dropped): the asker learns at once that the task was not accepted.
/// </summary>
public sealed class UndeliveredTaskCommands : ReceiveActor
{
    public UndeliveredTaskCommands()
    {
        Receive<DeadLetter>(dead =>
        {
            if (dead.Message is not (SubmitTask or AwaitTaskResult or GetTaskResult or GetTaskInfo) || dead.Sender.IsNobody()
                || !IsLocalTaskEntity(dead.Recipient))
                return;
            var command = (ITaskCommand)dead.Message;
            var verb = dead.Message is SubmitTask ? "was not accepted" : "could not be read";
            dead.Sender.Tell(new Status.Failure(new TaskNotAcceptedException(
                $"task {command.TaskId} {verb}: its actor could not start (is the journal available?)")));
        });
    }

    /// <summary>
    /// Only a task entity of this node that could not start counts. A message lost on its way to another node
    /// (which is being downed) is not answered here: sharding delivers later ones to the shard's new home.
    /// </summary>
    private static bool IsLocalTaskEntity(IActorRef recipient)
    {
        var path = recipient.Path;
        return path.Address.HasLocalScope
               && path.Elements is ["system", "sharding", Hosting.JobsNode.TaskTypeName, _, _];
    }

    public static Props Props() => Akka.Actor.Props.Create<UndeliveredTaskCommands>();

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}
