using System.Collections;
using System.Reflection;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Jobs.Actors;
using Jobs.Actors.Hosting;
using Jobs.Actors.Serialization;
using SerializationException = Jobs.Actors.Serialization.SerializationException;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace Jobs.Tests.Serialization;

public sealed class JobsSerializerSpec() : TestKit(ConfigurationFactory.ParseString("akka.actor.provider = local").WithFallback(JobsConfig.Defaults()))
{
    public static IEnumerable<object[]> MessageTypes() => JobsSerializer.MessageTypes().Select(t => new object[] { t });

    [Fact]
    public void Every_message_type_is_found()
    {
        Assert.Contains(typeof(Jobs.Actors.Tasks.SubmitTask), JobsSerializer.MessageTypes());
        Assert.Contains(typeof(Jobs.Actors.Tasks.TaskSucceeded), JobsSerializer.MessageTypes());
        Assert.True(JobsSerializer.MessageTypes().Count >= 20);
    }

    [Theory]
    [MemberData(nameof(MessageTypes))]
    public void Every_message_type_round_trips_through_the_jobs_serializer(Type type)
    {
        var message = Sample(type, depth: 0)!;
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<JobsSerializer>(serializer);

        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var bytes = serializer.ToBinary(message);
        var back = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.IsType(type, back);
        // JsonElement compares by reference, so compare what each side serializes to.
        Assert.Equal(Canonical(message), Canonical(back));
    }

    [Fact]
    public void Actor_refs_survive_the_round_trip()
    {
        var started = new Jobs.Actors.Tasks.MarkTaskStarted("t1", 0, "w", TestActor, DateTimeOffset.UnixEpoch);
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerFor(started);
        var back = (Jobs.Actors.Tasks.MarkTaskStarted)serializer.FromBinary(serializer.ToBinary(started), serializer.Manifest(started));
        Assert.Equal(TestActor, back.WorkerRef);
    }

    /// <summary>
    /// Random and mutated bytes for every manifest (FsCheck, fixed seed; JOBS_FUZZ_SEED changes it): FromBinary returns a
    /// message of the manifest's type or throws one of the exceptions a deserializer is expected to throw, promptly.
    /// Remoting and recovery turn those into a dropped message or a failed recovery; anything else would be a bug here.
    /// </summary>
    [Fact]
    public void Random_and_mutated_bytes_give_a_message_or_a_deserialization_error_never_anything_else()
    {
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("JOBS_FUZZ_SEED"), out var s) ? s : 20261201UL;
        var serializer = (SerializerWithStringManifest)Sys.Serialization.FindSerializerForType(typeof(IJobsMessage));
        var samples = JobsSerializer.MessageTypes().Select(t => Sample(t, 0)!).Select(m => (Manifest: serializer.Manifest(m), Bytes: serializer.ToBinary(m), Type: m.GetType())).ToArray();
        var cases =
            from index in Gen.Choose(0, samples.Length - 1)
            from mutation in Gen.Choose(0, 6)
            from at in Gen.Choose(0, 100_000)
            from noise in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), 16)
            from manifest in Gen.Frequency((9, Gen.Constant(samples[index].Manifest)), (1, Gen.Elements("", "nope", samples[0].Manifest)))
            select (index, mutation, at, noise, manifest);
        var drawn = Gen.Sample(cases, 5000, new Rnd(seed), 30);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var decoded = 0;
        var refused = new Dictionary<string, int>();
        foreach (var (index, mutation, at, noise, manifest) in drawn)
        {
            var original = samples[index].Bytes;
            var i = original.Length == 0 ? 0 : at % original.Length;
            var bytes = mutation switch
            {
                0 => noise,
                1 => original[..i],
                2 => [.. original[..i], (byte)(original[i] ^ (noise.Length > 0 ? noise[0] | 1 : 1)), .. original[(i + 1)..]],
                3 => [.. original[..i], .. noise, .. original[i..]],
                4 => [.. System.Text.Encoding.UTF8.GetBytes(new string('[', 10_000))],
                5 => [.. original, .. original],
                _ => [.. System.Text.Encoding.UTF8.GetBytes("{\"taskId\":" + new string('9', 400) + "}")],
            };
            try
            {
                var message = serializer.FromBinary(bytes, manifest);
                Assert.Equal(manifest, serializer.Manifest(message));
                decoded++;
            }
            catch (Exception e) when (e is JsonException or SerializationException or NotSupportedException or ArgumentException or FormatException or OverflowException)
            {
                refused[e.GetType().Name] = refused.GetValueOrDefault(e.GetType().Name) + 1;
            }
        }
        var figures = $"Serializer fuzz: seed {seed}, {drawn.Length} inputs over {samples.Length} manifests in {clock.Elapsed.TotalSeconds:0.0} s: " +
                      $"{decoded} decoded, refused {string.Join(", ", refused.Select(r => $"{r.Key} {r.Value}"))}";
        Console.WriteLine(figures);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), figures);
    }

    /// <summary>A chord's start as journals written before enums were stored by name hold it: kinds as numbers.</summary>
    private const string CanvasStartedWithNumberedKinds = """
        {"canvasId":"c1","root":{"kind":3,"immutable":false,"id":"c1",
         "members":[{"kind":1,"immutable":false,"id":"c2","members":[{"kind":0,"task":"tasks.add","args":[2,2],"immutable":false,"id":"t1","members":[],"link":[],"linkError":[]}],"link":[],"linkError":[]},
                    {"kind":2,"immutable":false,"id":"c3","members":[{"kind":0,"task":"tasks.add","args":[4,4],"immutable":false,"id":"t2","members":[],"link":[],"linkError":[]}],"link":[],"linkError":[]}],
         "body":{"kind":0,"task":"tasks.xsum","immutable":false,"id":"t3","members":[],"link":[],"linkError":[]},"link":[],"linkError":[]},
         "timestamp":"2026-11-24T22:00:00+00:00"}
        """;

    private object FromJournal(string manifest, string json) =>
        Sys.Serialization.Deserialize(System.Text.Encoding.UTF8.GetBytes(json), JobsSerializer.Id, manifest);

    [Fact]
    public void A_canvas_journaled_with_numbered_kinds_reads_back_and_kinds_are_written_by_name_now()
    {
        var started = Assert.IsType<Jobs.Actors.Canvas.CanvasStarted>(FromJournal("CanvasStarted", CanvasStartedWithNumberedKinds));
        Assert.Equal(Jobs.Actors.Canvas.SignatureKind.Chord, started.Root.Kind);
        Assert.Equal([Jobs.Actors.Canvas.SignatureKind.Chain, Jobs.Actors.Canvas.SignatureKind.Group], started.Root.Members.Select(m => m.Kind));
        Assert.Equal(Jobs.Actors.Canvas.SignatureKind.Task, started.Root.Body!.Kind);
        var tree = Assert.IsType<Jobs.Actors.Canvas.CanvasTreeSnapshot>(FromJournal("CanvasTreeSnapshot",
            """{"canvasId":"c1","root":{"kind":1,"immutable":false,"id":"c1","members":[],"link":[],"linkError":[]}}"""));
        Assert.Equal(Jobs.Actors.Canvas.SignatureKind.Chain, tree.Root.Kind);

        var written = Canonical(started);
        Assert.Contains("\"kind\":\"Chord\"", written);
        Assert.Contains("\"kind\":\"Group\"", written);
        Assert.Equal(started.Root.Nodes().Select(n => n.Kind),
            Assert.IsType<Jobs.Actors.Canvas.CanvasStarted>(FromJournal("CanvasStarted", written)).Root.Nodes().Select(n => n.Kind));
    }

    [Fact]
    public void An_attempt_outcome_travels_by_name_and_a_numbered_one_still_reads()
    {
        var completed = new Jobs.Actors.Tasks.CompleteAttempt("t1", 0, Jobs.Actors.Tasks.AttemptOutcome.Retry, "w", DateTimeOffset.UnixEpoch, 1);
        Assert.Contains("\"outcome\":\"Retry\"", Canonical(completed));
        var old = Assert.IsType<Jobs.Actors.Tasks.CompleteAttempt>(FromJournal("CompleteAttempt",
            """{"taskId":"t1","retries":0,"outcome":3,"worker":"w","startedAt":"1970-01-01T00:00:00+00:00","runtime":1,"retryCountdown":0}"""));
        Assert.Equal(Jobs.Actors.Tasks.AttemptOutcome.Expired, old.Outcome);
    }

    private string Canonical(object value) =>
        JsonSerializer.Serialize(value, value.GetType(), JobsSerializer.CreateOptions((ExtendedActorSystem)Sys));

    /// <summary>A value of every constructor parameter, so a new message type needs no new test code.</summary>
    private object? Sample(Type type, int depth)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        if (underlying is not null)
            return Sample(underlying, depth);
        if (type == typeof(string)) return "text-" + depth;
        if (type == typeof(int)) return 3;
        if (type == typeof(long)) return 42L;
        if (type == typeof(double)) return 1.5;
        if (type == typeof(bool)) return true;
        if (type == typeof(DateTimeOffset)) return new DateTimeOffset(2026, 11, 24, 22, 0, 0, TimeSpan.Zero);
        if (type == typeof(TimeSpan)) return TimeSpan.FromSeconds(5);
        if (type == typeof(JsonElement)) return JsonDocument.Parse("""[1, "two", {"three": 3.5}]""").RootElement.Clone();
        if (typeof(IActorRef).IsAssignableFrom(type)) return TestActor;
        if (type.IsEnum) return Enum.GetValues(type).GetValue(Enum.GetValues(type).Length - 1);
        if (type.IsGenericType && typeof(IEnumerable).IsAssignableFrom(type))
        {
            var element = type.GetGenericArguments()[0];
            var array = Array.CreateInstance(element, 2);
            array.SetValue(Sample(element, depth + 1), 0);
            array.SetValue(Sample(element, depth + 1), 1);
            return array;
        }
        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var array = Array.CreateInstance(element, 1);
            array.SetValue(Sample(element, depth + 1), 0);
            return array;
        }
        var constructor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance).OrderByDescending(c => c.GetParameters().Length).FirstOrDefault();
        if (constructor is null)
            return type.GetField("Instance", BindingFlags.Public | BindingFlags.Static)?.GetValue(null)
                ?? Activator.CreateInstance(type);
        return constructor.Invoke(constructor.GetParameters().Select(p => Sample(p.ParameterType, depth + 1)).ToArray());
    }
}
