using System.Buffers.Binary;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Serialization;

namespace Jobs.Actors.Persistence.Redis.Journal;

/// <summary>
/// An event as stored in Redis, one element of its persistence id's list: the sequence number (8 bytes, big-endian,
/// for the scripts) followed by the <see cref="Persistent"/> envelope written by Akka.Persistence's own message
/// serializer (persistence id, sequence number, writer, timestamp, and the payload through whatever serializer
/// is bound to it). Tags and index operations are taken off the payload: the journal writes them to the tag
/// streams and indexes instead.
/// </summary>
public sealed class EventRecords
{
    private readonly Serializer _serializer;

    public EventRecords(ActorSystem system)
    {
        // Akka.Persistence binds its message serializer to Persistent when its extension loads: a read journal made
        // before any persistent actor started would otherwise be given the default (JSON) serializer.
        Akka.Persistence.Persistence.Instance.Apply(system);
        _serializer = system.Serialization.FindSerializerForType(typeof(Persistent));
    }

    public StoredEvent ToBinary(IPersistentRepresentation representation)
    {
        IImmutableSet<string> tags = ImmutableHashSet<string>.Empty;
        IReadOnlyList<IndexOperation> operations = [];
        var payload = representation.Payload;
        // Either wrapper may be outside the other.
        for (var unwrapped = false; !unwrapped;)
        {
            switch (payload)
            {
                case Tagged tagged:
                    tags = tagged.Tags;
                    payload = tagged.Payload;
                    break;
                case Indexed indexed:
                    // Wrappers may nest (an entity's own and an adapter's): every one's operations apply.
                    operations = operations.Count == 0 ? indexed.Operations : [.. operations, .. indexed.Operations];
                    payload = indexed.Payload;
                    break;
                default:
                    unwrapped = true;
                    break;
            }
        }
        foreach (var operation in operations)
        {
            if (operation.Problem is { } problem)
                throw new ArgumentException($"event {representation.SequenceNr} of {representation.PersistenceId}: {problem}");
        }
        if (!ReferenceEquals(payload, representation.Payload))
            representation = representation.WithPayload(payload);
        var record = _serializer.ToBinary(representation);
        var element = new byte[8 + record.Length];
        BinaryPrimitives.WriteInt64BigEndian(element, representation.SequenceNr);
        record.CopyTo(element, 8);
        return new StoredEvent(representation.SequenceNr, element, tags, operations);
    }

    public IPersistentRepresentation FromBinary(byte[] element) =>
        (IPersistentRepresentation)_serializer.FromBinary(element[8..], typeof(Persistent));
}

/// <summary>One event ready for the write script: its list element, tags and index operations.</summary>
public sealed record StoredEvent(long SequenceNr, byte[] Element, IImmutableSet<string> Tags, IReadOnlyList<IndexOperation> Operations);
