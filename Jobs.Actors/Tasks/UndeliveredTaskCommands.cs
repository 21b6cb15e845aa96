using Akka.Actor;
using Akka.Event;

namespace Jobs.Actors.Tasks;

/// <summary>
/// Answers task commands that ended in dead letters instead of leaving their askers to time out. That is what
/// happens when a task entity cannot start because the journal is down (its recovery fails, and the messages
/// it held are dropped), or when it stops for a hand-off with commands still in its stash: the command was never
/// handled, so nothing of it was stored, and the asker learns at once that it may send it again.
/// </summary>
public sealed class UndeliveredTaskCommands : ReceiveActor
{
    private const string Why = "its actor stopped or could not start before handling it (the journal may be unavailable, or the task is moving to another node)";

    public UndeliveredTaskCommands()
    {
        Receive<DeadLetter>(dead =>
        {
            if (dead.Message is not (SubmitTask or RevokeTask or AwaitTaskResult or GetTaskResult or GetTaskInfo) || dead.Sender.IsNobody()
                || !IsLocalTaskEntity(dead.Recipient))
                return;
            var id = ((ITaskCommand)dead.Message).TaskId;
            dead.Sender.Tell(new CommandFailed(id, dead.Message switch
            {
                SubmitTask => $"task {id} was not accepted: {Why}; nothing was stored",
                RevokeTask => $"the revoke of task {id} was not accepted: {Why}; nothing was stored",
                _ => $"task {id} could not be read: {Why}",
            }));
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
