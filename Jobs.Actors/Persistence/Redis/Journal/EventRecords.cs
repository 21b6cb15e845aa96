using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Serialization;

namespace Jobs.Actors.Persistence.Redis.Journal;

/// <summary>
/// An event as stored in Redis: the <see cref="Persistent"/> envelope written by Akka.Persistence's own message
/// serializer (persistence id, sequence number, writer, timestamp, and the payload through whatever serializer
/// is bound to it). Tags are taken off the payload and kept in the tag lists instead.
/// </summary>
public sealed class EventRecords(ActorSystem system)
{
    private readonly Serializer _serializer = PersistentSerializer(system);

    public (byte[] Record, IImmutableSet<string> Tags) ToBinary(IPersistentRepresentation representation)
    {
        IImmutableSet<string> tags = ImmutableHashSet<string>.Empty;
        if (representation.Payload is Tagged tagged)
        {
            tags = tagged.Tags;
            representation = representation.WithPayload(tagged.Payload);
        }
        return (_serializer.ToBinary(representation), tags);
    }

    public IPersistentRepresentation FromBinary(byte[] record) =>
        (IPersistentRepresentation)_serializer.FromBinary(record, typeof(Persistent));

    /// <summary>
    /// Akka.Persistence binds its message serializer when its extension loads. A node that only reads the journal (an
    /// api node's monitor) loads no persistent actor, and would otherwise read every event with the default serializer.
    /// </summary>
    private static Serializer PersistentSerializer(ActorSystem system)
    {
        Akka.Persistence.Persistence.Instance.Apply(system);
        return system.Serialization.FindSerializerForType(typeof(Persistent));
    }
}
