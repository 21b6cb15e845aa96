using Akka.Actor;

namespace Jobs.Actors.Tasks;

/// <summary>
/// The tasks waiting for their due time on this node, as their entities announce them: <c>tasks scheduled</c>
/// asks every shard node's registry instead of scanning the journal, and an entity that stops (handoff,
/// crash of its shard) is forgotten here because the registry watches it; its next incarnation announces itself.
/// </summary>
public sealed class ScheduledTaskRegistry : ReceiveActor
{
    public const string Name = "scheduled-tasks";

    private readonly Dictionary<string, (ScheduledTask Task, IActorRef Entity)> _waiting = new();

    public ScheduledTaskRegistry()
    {
        Receive<TaskWaiting>(waiting =>
        {
            _waiting[waiting.TaskId] = (new ScheduledTask(waiting.TaskId, waiting.Name, waiting.Queue, waiting.DueAt, waiting.Retries), waiting.Entity);
            Context.Watch(waiting.Entity);
        });
        Receive<TaskNoLongerWaiting>(done => _waiting.Remove(done.TaskId));
        Receive<Terminated>(terminated =>
        {
            foreach (var id in _waiting.Where(w => w.Value.Entity.Equals(terminated.ActorRef)).Select(w => w.Key).ToArray())
                _waiting.Remove(id);
        });
        Receive<GetScheduledTasks>(_ => Sender.Tell(new ScheduledTasks(_waiting.Values.Select(w => w.Task).OrderBy(t => t.DueAt).ToArray())));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new ScheduledTaskRegistry());
}
