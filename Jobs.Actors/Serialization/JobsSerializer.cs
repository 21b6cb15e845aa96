using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace Jobs.Actors.Serialization;

/// <summary>
/// The one serializer of every <see cref="IJobsMessage"/>: remote messages and journal events alike, as compact
/// System.Text.Json. The manifest is the type's short name, so events stay readable in the journal and a type
/// may move between namespaces without breaking old journals.
/// </summary>
public sealed class JobsSerializer : SerializerWithStringManifest
{
    public const int Id = 431;

    private static readonly FrozenDictionary<Type, string> ManifestOf;
    private static readonly FrozenDictionary<string, Type> TypeOf;
    private readonly JsonSerializerOptions _options;

    static JobsSerializer()
    {
        var types = MessageTypes();
        var duplicate = types.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException(
                $"Two message types share the manifest '{duplicate.Key}': {string.Join(", ", duplicate.Select(t => t.FullName))}");
        ManifestOf = types.ToFrozenDictionary(t => t, t => t.Name);
        TypeOf = types.ToFrozenDictionary(t => t.Name, t => t);
    }

    public JobsSerializer(ExtendedActorSystem system) : base(system)
    {
        _options = CreateOptions(system);
    }

    public override int Identifier => Id;

    /// <summary>Every concrete message type this serializer binds; a test round-trips each of them.</summary>
    public static IReadOnlyList<Type> MessageTypes() =>
        typeof(IJobsMessage).Assembly.GetTypes()
            .Where(t => typeof(IJobsMessage).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .ToArray();

    public static JsonSerializerOptions CreateOptions(ExtendedActorSystem system) => new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new ActorRefConverter(system) },
    };

    public override string Manifest(object o) =>
        ManifestOf.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType().FullName} is not an ActorJobs message", nameof(o));

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), _options);

    public override object FromBinary(byte[] bytes, string manifest) =>
        TypeOf.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type, _options) ?? throw new SerializationException($"'{manifest}' deserialized to null")
            : throw new SerializationException($"Unknown ActorJobs manifest '{manifest}'");

    /// <summary>Actor refs travel as their full path and resolve against the receiving system.</summary>
    private sealed class ActorRefConverter(ExtendedActorSystem system) : JsonConverter<IActorRef>
    {
        public override IActorRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            system.Provider.ResolveActorRef(reader.GetString() ?? throw new JsonException("an actor ref must be a path"));

        public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Akka.Serialization.Serialization.SerializedActorPath(value));
    }
}

public sealed class SerializationException(string message) : Exception(message);
