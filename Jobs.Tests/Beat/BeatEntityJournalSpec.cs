using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Persistence.TestKit;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Beat;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Beat;

/// <summary>
/// A schedule entry against a journal the test controls: the shard's stop message arriving while a tick is being
/// journaled waits for the write and its handler, as for every other entity.
/// </summary>
public sealed class BeatEntityJournalSpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """).WithFallback(ControllableJournal.Config);

    private static readonly BeatSettings Settings = new("UTC", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(20),
        TimeSpan.FromSeconds(3), 8, 100, TimeSpan.FromSeconds(60));

    private readonly TestProbe _tasks;
    private readonly TestProbe _directory;

    public BeatEntityJournalSpec() : base(Config)
    {
        _tasks = CreateTestProbe();
        _directory = CreateTestProbe();
        _directory.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is ListEntry { Ack: true } list)
                sender.Tell(new EntryListed(list.View.Name, list.Correlation));
            return AutoPilot.KeepRunning;
        }));
    }

    private ITestJournal Journal => ControllableJournal.JournalOf(Sys);

    [Fact]
    public async Task A_stop_during_a_ticks_write_waits_for_the_write_and_sends_the_task_before_the_entry_stops()
    {
        var entity = ChildActorOf(BeatEntity.Props("held", _tasks.Ref, _directory.Ref, Settings, new TaskRoutes("default", [])));
        Watch(entity);
        var entry = EntryParser.Parse(JsonDocument.Parse("""{"task": "tasks.add", "args": [1, 2], "interval": 5, "paused": true}""").RootElement, "held");
        entity.Tell(new DefineEntry("held", entry, EntrySources.Api, DefineMode.Create));
        ExpectMsg<EntryView>();
        // Paused, it sleeps: its shard is asked to stop it with the shared stop message.
        Assert.Same(StopEntity.Instance, ExpectMsg<Passivate>().StopMessage);

        var held = new HeldWrites(BeatEntity.PersistenceIdOf("held"));
        await Journal.OnWrite.SetInterceptorAsync(held);
        entity.Tell(new RunEntryNow("held"));
        await held.Reached;
        entity.Tell(StopEntity.Instance);
        _tasks.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        held.Release();

        Assert.Equal("beat:held:1:run-now-1", _tasks.ExpectMsg<SubmitTask>().TaskId);
        ExpectTerminated(entity);
    }
}
