using System.Text.Json;
using Akka.Configuration;
using Jobs.Actors.Beat;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Beat;

/// <summary>Entries read from JSON, HOCON and attributes: bad input names its field (and its entry), never a silent skip.</summary>
public sealed class EntrySourcesSpec
{
    private static InvalidEntryException Invalid(string json) =>
        Assert.Throws<InvalidEntryException>(() => EntryParser.Parse(JsonDocument.Parse(json).RootElement));

    [Theory]
    [InlineData("""{"name": "e", "task": "tasks.add", "cron": "61 * * * *"}""", "cron")]
    [InlineData("""{"name": "e", "task": "tasks.add", "cron": "* * * *"}""", "cron")]
    [InlineData("""{"name": "e", "task": "tasks.add", "cron": "* * * * *", "time_zone": "Europe/Atlantis"}""", "time_zone")]
    [InlineData("""{"name": "e", "task": "tasks.add", "interval": 0}""", "interval")]
    [InlineData("""{"name": "e", "task": "tasks.add", "interval": -5}""", "interval")]
    [InlineData("""{"name": "e", "task": "tasks.add", "clocked": "2026-01-01T00:00:00"}""", "clocked")]
    [InlineData("""{"name": "e", "task": "tasks.add"}""", "cron")]
    [InlineData("""{"name": "e", "task": "tasks.add", "cron": "* * * * *", "interval": 5}""", "interval")]
    [InlineData("""{"name": "e", "cron": "* * * * *"}""", "task")]
    [InlineData("""{"name": "no spaces", "task": "tasks.add", "interval": 5}""", "name")]
    [InlineData("""{"name": "e", "task": "tasks.add", "interval": 5, "catch_up": "some"}""", "catch_up")]
    [InlineData("""{"name": "e", "task": "tasks.add", "interval": 5, "overlap": "never"}""", "overlap")]
    [InlineData("""{"name": "e", "task": "tasks.add", "interval": 5, "options": {"priority": 5}}""", "options.priority")]
    [InlineData("""{"name": "e", "task": "tasks.add", "interval": 5, "args": {"x": 1}}""", "args")]
    [InlineData("""{"name": "e", "task": "tasks.add", "interval": 5, "every": 5}""", "every")]
    public void A_bad_field_is_named(string json, string field) => Assert.Equal(field, Invalid(json).Field);

    private static TaskRegistry Registry => TaskRegistry.FromTypes([typeof(Jobs.Node.Tasks), typeof(PeriodicTasks)]);

    private static Config Hocon(string schedule) => JobsConfig.Load(ConfigurationFactory.ParseString("jobs.beat.schedule { " + schedule + " }"));

    [Fact]
    public void Hocon_entries_read_durations_lists_and_dashed_keys()
    {
        var entries = StaticSchedule.Load(Hocon("""
            cleanup { task = "tasks.echo", args = ["old", 2], cron = "0 3 * * *", time-zone = "Europe/Berlin", catch-up = none }
            heartbeat { task = "tasks.add", args = [1, 2], interval = 30s, overlap = skip, options { queue = "beats", expires = 1m } }
            """), registry: null);
        var cleanup = entries.Single(e => e.Definition.Name == "cleanup").Definition;
        Assert.Equal(("0 3 * * *", "Europe/Berlin", CatchUpPolicy.None), (cleanup.Cron, cleanup.TimeZone, cleanup.CatchUp));
        Assert.Equal("""["old",2]""", cleanup.Args.GetRawText());
        var heartbeat = entries.Single(e => e.Definition.Name == "heartbeat").Definition;
        Assert.Equal((30.0, OverlapPolicy.Skip, "beats", 60.0), (heartbeat.Interval, heartbeat.Overlap, heartbeat.Queue, heartbeat.Expires));
        Assert.All(entries, e => Assert.Equal(EntrySources.Hocon, e.Source));
    }

    [Fact]
    public void A_bad_hocon_entry_stops_the_node_naming_the_entry_and_the_key()
    {
        var e = Assert.Throws<BeatScheduleException>(() => StaticSchedule.Load(Hocon("""nightly { task = "tasks.add", cron = "0 25 * * *" }"""), null));
        Assert.StartsWith("jobs.beat.schedule.nightly.cron:", e.Message);
        e = Assert.Throws<BeatScheduleException>(() => StaticSchedule.Load(Hocon("""nightly { task = "tasks.add", cron = "0 3 * * *", time-zone = "Nowhere/Town" }"""), null));
        Assert.StartsWith("jobs.beat.schedule.nightly.time-zone:", e.Message);
        e = Assert.Throws<BeatScheduleException>(() => StaticSchedule.Load(Hocon("""nightly { task = "tasks.nope", interval = 5 }"""), Registry));
        Assert.Contains("'nightly'", e.Message);
        Assert.Contains("task: 'tasks.nope' is not a task of this node", e.Message);
        e = Assert.Throws<BeatScheduleException>(() => StaticSchedule.Load(Hocon("""nightly { task = "tasks.add", interval = 0 }"""), null));
        Assert.StartsWith("jobs.beat.schedule.nightly.interval:", e.Message);
    }

    [Fact]
    public void Attribute_entries_are_read_from_task_methods_and_a_name_from_two_sources_stops_the_node()
    {
        var entries = StaticSchedule.Load(Hocon(""), Registry);
        var every = entries.Single(e => e.Definition.Name == "periodic_tasks.every_five_minutes").Definition;
        Assert.Equal(("*/5 * * * *", "periodic_tasks.every_five_minutes"), (every.Cron, every.Task));
        var named = entries.Single(e => e.Definition.Name == "ping-every-10s").Definition;
        Assert.Equal((10.0, OverlapPolicy.Queue), (named.Interval, named.Overlap));
        Assert.Equal("""["ping"]""", named.Args.GetRawText());
        Assert.All(entries, e => Assert.Equal(EntrySources.Attribute, e.Source));

        var e = Assert.Throws<BeatScheduleException>(() => StaticSchedule.Load(Hocon("""ping-every-10s { task = "tasks.add", interval = 5 }"""), Registry));
        Assert.Contains("'ping-every-10s' is defined twice", e.Message);
        Assert.Contains("jobs.beat.schedule.ping-every-10s", e.Message);
        e = Assert.Throws<BeatScheduleException>(() => StaticSchedule.Load(Hocon(""), TaskRegistry.FromTypes([typeof(BadPeriodicTasks)])));
        Assert.Contains("bad_periodic_tasks.nightly", e.Message);
        Assert.Contains("cron", e.Message);
    }

    // Private, so nodes started with this test assembly as --tasks do not load these entries.
    private static class PeriodicTasks
    {
        [JobsTask]
        [Periodic("*/5 * * * *")]
        public static int EveryFiveMinutes() => 5;

        [JobsTask]
        [Periodic(Name = "ping-every-10s", Interval = 10, Args = "[\"ping\"]", Overlap = OverlapPolicy.Queue)]
        public static string Ping(string text) => text;
    }

    private static class BadPeriodicTasks
    {
        [JobsTask]
        [Periodic("0 3 * *")]
        public static int Nightly() => 0;
    }
}
