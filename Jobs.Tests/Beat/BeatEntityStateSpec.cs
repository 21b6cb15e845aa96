using System.Text.Json;
using Jobs.Actors.Beat;
using Xunit;

namespace Jobs.Tests.Beat;

/// <summary>The entry's rules without actors: which source wins, pause, catch-up and overlap, task ids.</summary>
public sealed class BeatEntityStateSpec
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-01-01T00:00:00Z");
    private static readonly TimeSpan Threshold = TimeSpan.FromSeconds(5);

    private static EntryDefinition Entry(string fields) =>
        EntryParser.Parse(JsonDocument.Parse("{\"task\": \"tasks.add\", " + fields + "}").RootElement, "e");

    private static BeatEntityState Defined(EntryDefinition entry, string source = EntrySources.Api, DateTimeOffset? at = null) =>
        Apply(BeatEntityState.Empty("e"), BeatEntityState.Empty("e").Decide(new DefineEntry("e", entry, source, DefineMode.Create), at ?? T0));

    private static BeatEntityState Apply(BeatEntityState state, BeatDecision decision)
    {
        Assert.Null(decision.Rejection);
        return decision.Events.Aggregate(state, (s, e) => s.Apply(e));
    }

    [Fact]
    public void A_run_time_name_is_taken_once_and_replaced_only_by_put()
    {
        var state = Defined(Entry("\"interval\": 60"));
        var again = state.Decide(new DefineEntry("e", Entry("\"interval\": 30"), EntrySources.Api, DefineMode.Create), T0);
        Assert.Equal("name", again.Rejection!.Field);
        var replaced = Apply(state, state.Decide(new DefineEntry("e", Entry("\"interval\": 30"), EntrySources.Api, DefineMode.Replace), T0.AddSeconds(10)));
        Assert.Equal(30, replaced.Definition!.Interval);
        Assert.Equal(1, replaced.Generation);
        Assert.Empty(replaced.Decide(new DefineEntry("e", Entry("\"interval\": 30"), EntrySources.Api, DefineMode.Replace), T0).Events);
    }

    [Fact]
    public void A_deploy_changes_nothing_while_its_source_is_unchanged_so_a_run_time_pause_stays()
    {
        var hocon = Entry("\"cron\": \"0 3 * * *\"");
        var state = Defined(hocon, EntrySources.Hocon);
        state = Apply(state, state.Decide(new PauseEntry("e"), T0));
        Assert.Empty(state.Decide(new DefineEntry("e", hocon, EntrySources.Hocon, DefineMode.Deploy), T0.AddDays(1)).Events);

        var changed = Entry("\"cron\": \"0 4 * * *\"");
        state = Apply(state, state.Decide(new DefineEntry("e", changed, EntrySources.Hocon, DefineMode.Deploy), T0.AddDays(1)));
        Assert.False(state.Paused);
        Assert.Equal("0 4 * * *", state.Definition!.Cron);
    }

    [Fact]
    public void Source_entries_refuse_run_time_changes_and_removal_and_a_deploy_may_not_take_a_run_time_name()
    {
        var state = Defined(Entry("\"interval\": 60"), EntrySources.Attribute);
        Assert.Equal("name", state.Decide(new DefineEntry("e", Entry("\"interval\": 5"), EntrySources.Api, DefineMode.Replace), T0).Rejection!.Field);
        Assert.NotNull(state.Decide(new RemoveEntry("e"), T0).Rejection);
        Assert.Single(state.Decide(new RemoveEntry("e", BySource: true), T0).Events);

        var runTime = Defined(Entry("\"interval\": 60"));
        Assert.Contains("run time", runTime.Decide(new DefineEntry("e", Entry("\"interval\": 60"), EntrySources.Hocon, DefineMode.Deploy), T0).Rejection!.Message);
        Assert.Empty(runTime.Decide(new RemoveEntry("e", BySource: true), T0).Events);
    }

    [Fact]
    public void A_recreated_entry_gets_a_new_generation_so_its_task_ids_are_new()
    {
        var state = Defined(Entry("\"interval\": 60"));
        state = Apply(state, state.Decide(new RemoveEntry("e"), T0));
        Assert.True(state.Decide(new PauseEntry("e"), T0).Rejection!.NotFound);
        state = Apply(state, state.Decide(new DefineEntry("e", Entry("\"interval\": 60"), EntrySources.Api, DefineMode.Create), T0.AddMinutes(1)));
        Assert.Equal(2, state.Generation);
        var fired = Assert.IsType<TickFired>(Assert.Single(state.DecideDue(T0.AddMinutes(2), false, Threshold).Events));
        Assert.Equal("beat:e:2:20260101T000200Z", fired.TaskId);
    }

    [Fact]
    public void An_on_time_tick_fires_with_the_id_of_its_entry_and_tick_and_moves_the_cursor()
    {
        var state = Defined(Entry("\"interval\": 10"));
        Assert.Empty(state.DecideDue(T0.AddSeconds(9), false, Threshold).Events);
        var decision = state.DecideDue(T0.AddSeconds(10.2), false, Threshold);
        var fired = Assert.IsType<TickFired>(Assert.Single(decision.Events));
        Assert.Equal(T0.AddSeconds(10), fired.Tick);
        Assert.Equal(BeatEntityState.TaskIdOf("e", 1, T0.AddSeconds(10)), fired.TaskId);
        state = Apply(state, decision);
        Assert.Equal(T0.AddSeconds(20), state.NextTick);
        Assert.Empty(state.DecideDue(T0.AddSeconds(10.5), false, Threshold).Events);
    }

    [Fact]
    public void Catch_up_none_records_late_ticks_as_missed_and_runs_nothing()
    {
        var state = Defined(Entry("\"interval\": 60, \"catch_up\": \"none\""));
        var missed = Assert.IsType<TicksMissed>(Assert.Single(state.DecideDue(T0.AddMinutes(10).AddSeconds(30), false, Threshold).Events));
        Assert.Equal((T0.AddMinutes(1), T0.AddMinutes(10), 10L), (missed.First, missed.Last, missed.Count));
        // Within the threshold the latest tick still runs.
        var onTime = state.DecideDue(T0.AddMinutes(10).AddSeconds(2), false, Threshold).Events;
        Assert.Equal(9, Assert.IsType<TicksMissed>(onTime[0]).Count);
        Assert.Equal(T0.AddMinutes(10), Assert.IsType<TickFired>(onTime[1]).Tick);
    }

    [Fact]
    public void Ticks_late_by_no_more_than_the_threshold_all_run_whatever_the_policy()
    {
        foreach (var policy in new[] { "none", "once" })
        {
            var state = Defined(Entry($"\"interval\": 1, \"catch_up\": \"{policy}\""));
            // A busy node looks at the clock 3.5 s late: ticks 1, 2 and 3 are each within the threshold and each runs.
            var now = T0.AddSeconds(4.5);
            var ticks = new List<DateTimeOffset>();
            while (state.DecideDue(now, false, Threshold) is { Events.Count: > 0 } next)
            {
                ticks.Add(Assert.IsType<TickFired>(Assert.Single(next.Events)).Tick);
                state = Apply(state, next);
            }
            Assert.Equal([T0.AddSeconds(1), T0.AddSeconds(2), T0.AddSeconds(3), T0.AddSeconds(4)], ticks);
            Assert.Equal(0, state.Missed);
        }
    }

    [Fact]
    public void Catch_up_once_runs_the_latest_missed_tick_and_never_a_storm()
    {
        var state = Defined(Entry("\"cron\": \"* * * * *\""));
        var now = T0.AddHours(5).AddSeconds(40);
        var events = state.DecideDue(now, false, Threshold).Events;
        Assert.Equal(2, events.Count);
        Assert.Equal(299, Assert.IsType<TicksMissed>(events[0]).Count);
        Assert.Equal(T0.AddHours(5), Assert.IsType<TickFired>(events[1]).Tick);
        Assert.Empty(Apply(state, new BeatDecision(events)).DecideDue(now, false, Threshold).Events);

        // With a window of 10 s, a tick 40 s late is only missed.
        var windowed = Defined(Entry("\"cron\": \"* * * * *\", \"catch_up_window\": 10"));
        Assert.IsType<TicksMissed>(Assert.Single(windowed.DecideDue(now, false, Threshold).Events));
    }

    [Fact]
    public void Catch_up_all_runs_each_tick_within_the_window_one_decision_at_a_time()
    {
        var state = Defined(Entry("\"interval\": 60, \"catch_up\": \"all\", \"catch_up_window\": 300"));
        var now = T0.AddMinutes(10).AddSeconds(30);
        var first = state.DecideDue(now, false, Threshold).Events;
        Assert.Equal(5, Assert.IsType<TicksMissed>(first[0]).Count);
        Assert.Equal(T0.AddMinutes(6), Assert.IsType<TickFired>(first[1]).Tick);
        state = Apply(state, new BeatDecision(first));
        var ticks = new List<DateTimeOffset>();
        while (state.DecideDue(now, false, Threshold) is { Events.Count: > 0 } next)
        {
            ticks.Add(Assert.IsType<TickFired>(Assert.Single(next.Events)).Tick);
            state = Apply(state, next);
        }
        Assert.Equal([T0.AddMinutes(7), T0.AddMinutes(8), T0.AddMinutes(9), T0.AddMinutes(10)], ticks);
        Assert.Equal(5, state.Fired);
        Assert.Equal(5, state.Missed);
    }

    [Fact]
    public void Overlap_skip_records_the_ticks_skipped_while_the_previous_run_is_unfinished()
    {
        var state = Defined(Entry("\"interval\": 10, \"overlap\": \"skip\""));
        state = Apply(state, state.DecideDue(T0.AddSeconds(10), false, Threshold));
        var skipped = Assert.IsType<TicksSkipped>(Assert.Single(state.DecideDue(T0.AddSeconds(20), previousRunning: true, Threshold).Events));
        Assert.Equal("beat:e:1:20260101T000010Z", skipped.PreviousTaskId);
        state = Apply(state, new BeatDecision([skipped]));
        Assert.Equal(1, state.Skipped);
        Assert.Equal(T0.AddSeconds(20), state.LastSkipped!.First);
        Assert.IsType<TickFired>(Assert.Single(state.DecideDue(T0.AddSeconds(30), previousRunning: false, Threshold).Events));

        // allow ignores the previous run.
        var allow = Defined(Entry("\"interval\": 10"));
        allow = Apply(allow, allow.DecideDue(T0.AddSeconds(10), false, Threshold));
        Assert.IsType<TickFired>(Assert.Single(allow.DecideDue(T0.AddSeconds(20), previousRunning: true, Threshold).Events));
    }

    [Fact]
    public void Overlap_queue_holds_one_tick_until_the_previous_run_finishes_and_skips_the_rest()
    {
        var state = Defined(Entry("\"interval\": 10, \"overlap\": \"queue\""));
        state = Apply(state, state.DecideDue(T0.AddSeconds(10), false, Threshold));
        state = Apply(state, state.DecideDue(T0.AddSeconds(20), true, Threshold));
        Assert.Equal(T0.AddSeconds(20), state.Queued);
        var full = Assert.IsType<TicksSkipped>(Assert.Single(state.DecideDue(T0.AddSeconds(30), true, Threshold).Events));
        Assert.Contains("queued already", full.Reason);
        state = Apply(state, new BeatDecision([full]));
        var fired = Assert.IsType<TickFired>(Assert.Single(state.DecideDue(T0.AddSeconds(34), false, Threshold).Events));
        Assert.Equal(T0.AddSeconds(20), fired.Tick);
        state = Apply(state, new BeatDecision([fired]));
        Assert.Null(state.Queued);
        Assert.Equal(T0.AddSeconds(40), state.NextTick);
    }

    [Fact]
    public void A_paused_entry_fires_nothing_and_does_not_catch_up_the_ticks_of_its_pause()
    {
        var state = Defined(Entry("\"interval\": 60, \"catch_up\": \"all\", \"catch_up_window\": 3600"));
        state = Apply(state, state.Decide(new PauseEntry("e"), T0));
        Assert.Null(state.NextTick);
        Assert.Empty(state.DecideDue(T0.AddMinutes(30), false, Threshold).Events);
        state = Apply(state, state.Decide(new ResumeEntry("e"), T0.AddMinutes(30).AddSeconds(5)));
        Assert.Empty(state.DecideDue(T0.AddMinutes(30).AddSeconds(6), false, Threshold).Events);
        Assert.Equal(T0.AddMinutes(31), state.NextTick);
    }

    [Fact]
    public void A_manual_run_moves_no_cursor_and_each_has_its_own_id()
    {
        var state = Defined(Entry("\"interval\": 60"));
        state = Apply(state, state.Decide(new RunEntryNow("e"), T0.AddSeconds(5)));
        state = Apply(state, state.Decide(new RunEntryNow("e"), T0.AddSeconds(6)));
        Assert.Equal("beat:e:1:run-now-2", state.LastRun!.TaskId);
        Assert.True(state.LastRun.Manual);
        Assert.Equal(T0.AddMinutes(1), state.NextTick);
        Assert.Equal(0, state.Fired);
    }

    [Fact]
    public void A_clocked_instant_in_the_past_runs_once_and_then_the_entry_has_no_next_tick()
    {
        var state = Defined(Entry("\"clocked\": \"2025-12-31T23:59:00Z\""));
        var fired = Assert.IsType<TickFired>(Assert.Single(state.DecideDue(T0.AddSeconds(1), false, Threshold).Events));
        state = Apply(state, new BeatDecision([fired]));
        Assert.Null(state.NextTick);
        Assert.Empty(state.DecideDue(T0.AddDays(1), false, Threshold).Events);
    }
}
