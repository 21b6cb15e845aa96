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
    private readonly Serializer _serializer = system.Serialization.FindSerializerForType(typeof(Persistent));

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
}
