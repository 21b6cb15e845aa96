using System.Text.Json;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Akka.Event;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Beat;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Beat;

/// <summary>
/// One schedule entry on an in-memory journal with a virtual clock; probes stand for the task region and the
/// directory. It journals each tick before sending, resends the same id until acknowledged, and sleeps through its directory.
/// </summary>
public sealed class BeatEntitySpec : TestKit
{
    private static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
        akka.loglevel = WARNING
        """);

    private static readonly BeatSettings Settings = new("UTC", TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(20),
        TimeSpan.FromSeconds(3), 8, 100, TimeSpan.FromSeconds(60));

    private readonly TestProbe _tasks;
    private readonly TestProbe _directory;

    public BeatEntitySpec() : base(Config)
    {
        _tasks = CreateTestProbe();
        _directory = CreateTestProbe();
        // The directory journals and acknowledges every listing it is asked to.
        _directory.SetAutoPilot(new DelegateAutoPilot((sender, message) =>
        {
            if (message is ListEntry { Ack: true } list)
                sender.Tell(new EntryListed(list.View.Name, list.Correlation));
            if (message is UnlistEntry unlist)
                sender.Tell(new EntryListed(unlist.EntryName, unlist.Correlation));
            return AutoPilot.KeepRunning;
        }));
    }

    private TestScheduler Scheduler => (TestScheduler)Sys.Scheduler;

    private IActorRef Entity(string name) =>
        ChildActorOf(BeatEntity.Props(name, _tasks.Ref, _directory.Ref, Settings, new TaskRoutes("default", [])));

    private static EntryDefinition Entry(string name, string fields) =>
        EntryParser.Parse(JsonDocument.Parse("{\"task\": \"tasks.add\", \"args\": [1, 2], " + fields + "}").RootElement, name);

    private EntryView Define(IActorRef entity, EntryDefinition entry)
    {
        entity.Tell(new DefineEntry(entry.Name, entry, EntrySources.Api, DefineMode.Create));
        return ExpectMsg<EntryView>();
    }

    private IReadOnlyList<object> JournalOf(string name)
    {
        Sys.ActorOf(JournalReader.Props(BeatEntity.PersistenceIdOf(name), TestActor));
        return ExpectMsg<JournalEvents>().Events;
    }

    /// <summary>Moves the virtual clock to the next tick (timers fire), a second at a time so nothing is skipped.</summary>
    private void Advance(TimeSpan by)
    {
        for (var left = by; left > TimeSpan.Zero; left -= TimeSpan.FromSeconds(1))
            Scheduler.Advance(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void A_tick_is_journaled_then_sent_and_sent_again_with_the_same_id_until_acknowledged()
    {
        var entity = Entity("every-10s");
        var view = Define(entity, Entry("every-10s", "\"interval\": 10"));
        var due = view.NextTick!.Value;
        Advance(due - Scheduler.Now);
        var submit = _tasks.ExpectMsg<SubmitTask>();
        Assert.Equal(BeatEntityState.TaskIdOf("every-10s", 1, due), submit.TaskId);
        Assert.Equal(("tasks.add", "[1, 2]"), (submit.Name, submit.Args.GetRawText()));
        Assert.Contains(JournalOf("every-10s"), e => e is TickFired fired && fired.TaskId == submit.TaskId);

        Advance(Settings.ResendInterval);
        Assert.Equal(submit.TaskId, _tasks.ExpectMsg<SubmitTask>().TaskId);
        _tasks.Reply(new TaskResult(submit.TaskId, TaskState.Received));
        Advance(Settings.ResendInterval);
        Advance(Settings.ResendInterval);
        _tasks.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // The next tick comes after the acknowledgement.
        Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(BeatEntityState.TaskIdOf("every-10s", 1, due.AddSeconds(10)), _tasks.ExpectMsg<SubmitTask>().TaskId);
    }

    [Fact]
    public void A_restarted_entry_sends_its_last_fired_task_again_under_the_same_id_and_fires_no_new_one_for_that_tick()
    {
        var entity = Entity("restarted");
        var due = Define(entity, Entry("restarted", "\"interval\": 10")).NextTick!.Value;
        Advance(due - Scheduler.Now);
        var submit = _tasks.ExpectMsg<SubmitTask>();
        Watch(entity);
        Sys.Stop(entity);
        ExpectTerminated(entity);

        Entity("restarted");
        var again = _tasks.ExpectMsg<SubmitTask>();
        Assert.Equal(submit.TaskId, again.TaskId);
        _tasks.Reply(new TaskResult(again.TaskId, TaskState.Success));
        _tasks.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Single(JournalOf("restarted").OfType<TickFired>());
    }

    [Fact]
    public void A_submission_the_task_entity_could_not_store_is_handled_and_sent_again_with_the_same_id()
    {
        var unhandled = CreateTestProbe();
        Sys.EventStream.Subscribe(unhandled.Ref, typeof(UnhandledMessage));
        var entity = Entity("unstored");
        var view = Define(entity, Entry("unstored", "\"interval\": 10"));
        Advance(view.NextTick!.Value - Scheduler.Now);
        var submit = _tasks.ExpectMsg<SubmitTask>();
        // The entity's answer to a write the journal did not store: a message of ours, so it crosses nodes intact.
        _tasks.Reply(new CommandFailed(submit.TaskId, $"task {submit.TaskId} was not accepted: the journal failed to store it; nothing was stored"));
        unhandled.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Advance(Settings.ResendInterval);
        Assert.Equal(submit.TaskId, _tasks.ExpectMsg<SubmitTask>().TaskId);
    }

    [Fact]
    public void A_far_off_entry_has_its_directory_journal_its_wake_up_time_and_then_leaves_memory()
    {
        var entity = Entity("nightly");
        var view = Define(entity, Entry("nightly", "\"cron\": \"0 3 * * *\""));
        var sleep = _directory.FishForMessage<ListEntry>(l => l.Asleep);
        Assert.True(sleep.Ack);
        Assert.Equal(view.NextTick - Settings.WakeAhead, sleep.WakeAt);
        Assert.Equal(StopEntity.Instance, ExpectMsg<Passivate>().StopMessage);
    }

    [Fact]
    public void A_paused_entry_sleeps_without_a_wake_up_time_and_a_woken_entry_answers_its_directory()
    {
        var entity = Entity("paused");
        Define(entity, Entry("paused", "\"interval\": 5, \"paused\": true"));
        Assert.Null(_directory.FishForMessage<ListEntry>(l => l.Asleep).WakeAt);
        ExpectMsg<Passivate>();
        entity.Tell(new WakeEntry("paused"), _directory.Ref);
        _directory.FishForMessage<EntryWoken>(_ => true);
    }

    [Fact]
    public void With_overlap_skip_a_tick_is_skipped_and_recorded_while_the_previous_run_is_unfinished()
    {
        var entity = Entity("skipper");
        var due = Define(entity, Entry("skipper", "\"interval\": 10, \"overlap\": \"skip\"")).NextTick!.Value;
        Advance(due - Scheduler.Now);
        var first = _tasks.ExpectMsg<SubmitTask>();
        _tasks.Reply(new TaskResult(first.TaskId, TaskState.Received));
        // The entry asks to hear when the run ends.
        Assert.Equal(first.TaskId, _tasks.ExpectMsg<AwaitTaskResult>().TaskId);

        Advance(TimeSpan.FromSeconds(10));
        _tasks.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        entity.Tell(new GetEntry("skipper"));
        var view = ExpectMsg<EntryView>();
        Assert.Equal(1, view.Skipped);
        Assert.Contains(first.TaskId, view.LastSkipped!.Reason);

        entity.Tell(new TaskResult(first.TaskId, TaskState.Success), _tasks.Ref);
        // Once it answers, it has taken the run's end: the next tick must not find the run unfinished.
        entity.Tell(new GetEntry("skipper"));
        ExpectMsg<EntryView>();
        Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(BeatEntityState.TaskIdOf("skipper", 1, due.AddSeconds(20)), _tasks.ExpectMsg<SubmitTask>().TaskId);
    }

    [Fact]
    public void Run_now_is_answered_once_its_task_is_received()
    {
        var entity = Entity("manual");
        Define(entity, Entry("manual", "\"cron\": \"0 3 * * *\""));
        // Far off, it sleeps; a command wakes it.
        ExpectMsg<Passivate>();
        entity.Tell(new RunEntryNow("manual"));
        var submit = _tasks.ExpectMsg<SubmitTask>();
        Assert.Equal("beat:manual:1:run-now-1", submit.TaskId);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        _tasks.Reply(new TaskResult(submit.TaskId, TaskState.Received));
        Assert.Equal(submit.TaskId, FishForMessage<EntryView>(_ => true).LastRun!.TaskId);
    }
}
