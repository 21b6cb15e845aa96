namespace Jobs.Actors.Hosting;

/// <summary>
/// The message that stops a sharded entity, for passivation and for hand-off alike (every region is started with
/// it). <c>PoisonPill</c> is handled by Akka ahead of the actor's own receive, so it would stop a persistent entity
/// between its write and that write's handler: the event stored, but its reply, its enqueue and its waiters' answers
/// skipped. This is an ordinary message: an entity that is writing holds it in its stash until the write has been
/// stored and handled, and then stops. Every sharded entity handles it, at least with <c>Context.Stop(Self)</c>.
/// </summary>
public sealed class StopEntity
{
    public static readonly StopEntity Instance = new();

    private StopEntity()
    {
    }
}
