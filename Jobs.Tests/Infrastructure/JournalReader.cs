using Akka.Actor;
using Akka.Persistence;

namespace Jobs.Tests.Infrastructure;

/// <summary>Replays one persistence id and answers the events it holds: tests read the journal through it.</summary>
public sealed class JournalReader : ReceivePersistentActor
{
    private readonly List<object> _events = new();

    public JournalReader(string persistenceId, IActorRef replyTo)
    {
        PersistenceId = persistenceId;
        Recover<RecoveryCompleted>(_ =>
        {
            replyTo.Tell(new JournalEvents(_events.ToArray()));
            Context.Stop(Self);
        });
        Recover<object>(e => _events.Add(e));
    }

    public override string PersistenceId { get; }

    public static Props Props(string persistenceId, IActorRef replyTo) =>
        Akka.Actor.Props.Create(() => new JournalReader(persistenceId, replyTo));
}

public sealed record JournalEvents(IReadOnlyList<object> Events);
