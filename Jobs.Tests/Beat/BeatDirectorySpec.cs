using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Beat;
using Xunit;

namespace Jobs.Tests.Beat;

/// <summary>
/// A directory partition on an in-memory journal with a virtual clock: it journals when a sleeping entry must wake,
/// wakes it then and again until it answers, lists entries without waking them, and after a restart still knows.
/// </summary>
public sealed class BeatDirectorySpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """);

    private static readonly BeatSettings Settings = new("UTC", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(20),
        TimeSpan.FromSeconds(3), 8, 100, TimeSpan.FromSeconds(60));

    private readonly TestProbe _entries;

    public BeatDirectorySpec() : base(Config)
    {
        _entries = CreateTestProbe();
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Directory() => Sys.ActorOf(BeatDirectory.Props(0, () => _entries.Ref, Settings));

    private static EntryView View(string name) =>
        BeatEntityState.Empty(name).Apply(new EntryDefined(name,
            EntryParser.Parse(JsonDocument.Parse("""{"task": "tasks.add", "cron": "0 3 * * *"}""").RootElement, name), EntrySources.Api, "f", 1,
            DateTimeOffset.UnixEpoch)).ToView();

    private void Advance(TimeSpan by)
    {
        for (var left = by; left > TimeSpan.Zero; left -= TimeSpan.FromSeconds(1))
            Scheduler.Advance(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void A_sleeping_entry_is_woken_at_its_time_and_again_until_it_answers()
    {
        var directory = Directory();
        directory.Tell(new ListEntry(0, View("nightly"), Scheduler.Now.AddSeconds(30), Asleep: true, 7, Ack: true));
        Assert.Equal(7, ExpectMsg<EntryListed>().Correlation);

        Advance(TimeSpan.FromSeconds(29));
        _entries.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("nightly", _entries.ExpectMsg<WakeEntry>().EntryName);
        Advance(Settings.ResendInterval);
        _entries.ExpectMsg<WakeEntry>();
        directory.Tell(new EntryWoken(0, "nightly"));
        Advance(Settings.ResendInterval * 3);
        _entries.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Entries_are_listed_without_being_woken_and_a_restarted_partition_still_wakes_them()
    {
        var directory = Directory();
        directory.Tell(new ListEntry(0, View("a"), Scheduler.Now.AddMinutes(10), Asleep: true, 1, Ack: true));
        directory.Tell(new ListEntry(0, View("b"), null, Asleep: true, 2, Ack: true));
        ExpectMsg<EntryListed>();
        ExpectMsg<EntryListed>();
        directory.Tell(new GetDirectoryEntries(0));
        Assert.Equal(["a", "b"], ExpectMsg<DirectoryEntries>().Entries.Select(r => r.View.Name).Order());
        _entries.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Watch(directory);
        Sys.Stop(directory);
        ExpectTerminated(directory);
        Directory();
        // Entries it believes awake would be woken at once; these sleep: "a" at its time, "b" only by a command.
        _entries.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Advance(TimeSpan.FromMinutes(10));
        Assert.Equal("a", _entries.FishForMessage<WakeEntry>(_ => true).EntryName);
    }

    [Fact]
    public void An_unlisted_entry_is_forgotten_and_woken_no_more()
    {
        var directory = Directory();
        directory.Tell(new ListEntry(0, View("gone"), Scheduler.Now.AddSeconds(10), Asleep: true, 1, Ack: true));
        ExpectMsg<EntryListed>();
        directory.Tell(new UnlistEntry(0, "gone", 2));
        Assert.Equal(2, ExpectMsg<EntryListed>().Correlation);
        Advance(TimeSpan.FromSeconds(20));
        _entries.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        directory.Tell(new GetDirectoryEntries(0));
        Assert.Empty(ExpectMsg<DirectoryEntries>().Entries);
    }
}
