using System.Text.Json;
using Jobs.Actors.Beat;
using Xunit;

namespace Jobs.Tests.Beat;

/// <summary>When ticks fall, computed from given instants (a virtual clock): DST in two zones, month ends, leap days, intervals.</summary>
public sealed class BeatScheduleSpec
{
    private static readonly DateTimeOffset Anchor = DateTimeOffset.Parse("2026-01-01T00:00:00Z");

    public static EntryDefinition Entry(string schedule, string? zone = null) =>
        EntryParser.Parse(JsonDocument.Parse(schedule).RootElement, "e", zone ?? "UTC");

    private static EntryDefinition Cron(string cron, string zone = "UTC") =>
        Entry($$"""{"task": "tasks.add", "cron": "{{cron}}", "time_zone": "{{zone}}"}""");

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso);

    private static string[] Next(EntryDefinition entry, string after, int count) =>
        BeatSchedule.Upcoming(entry, Anchor, At(after), count).Select(t => t.ToString("yyyy-MM-ddTHH:mm:ssZ")).ToArray();

    [Fact]
    public void A_daily_time_in_Berlin_moves_with_daylight_saving_time_in_utc()
    {
        var entry = Cron("0 3 * * *", "Europe/Berlin");
        // 03:00 CET is 02:00 UTC; from 29 March 2026 on (CEST) it is 01:00 UTC.
        Assert.Equal(["2026-03-28T02:00:00Z", "2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"], Next(entry, "2026-03-28T00:00:00Z", 3));
        Assert.Equal(["2026-10-24T01:00:00Z", "2026-10-25T02:00:00Z", "2026-10-26T02:00:00Z"], Next(entry, "2026-10-24T00:00:00Z", 3));
    }

    [Fact]
    public void A_time_in_the_skipped_spring_forward_hour_runs_once_when_the_clocks_jump()
    {
        // Berlin, 29 March 2026: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that day.
        var berlin = Cron("30 2 * * *", "Europe/Berlin");
        Assert.Equal(["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"], Next(berlin, "2026-03-28T00:00:00Z", 3));
        // New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT.
        var newYork = Cron("30 2 * * *", "America/New_York");
        Assert.Equal(["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"], Next(newYork, "2026-03-07T00:00:00Z", 3));
    }

    [Fact]
    public void A_time_in_the_repeated_fall_back_hour_runs_once_and_an_every_quarter_hour_schedule_runs_through_both()
    {
        // New York, 1 November 2026: 02:00 EDT falls back to 01:00 EST, so 01:30 happens twice; a daily 01:30 runs at the first.
        var daily = Cron("30 1 * * *", "America/New_York");
        Assert.Equal(["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"], Next(daily, "2026-10-31T00:00:00Z", 3));
        // Berlin, 25 October 2026: 03:00 CEST falls back to 02:00 CET; */30 in hour 2 runs at 02:00 and 02:30 of both passes.
        var halfHours = Cron("*/30 2 * * *", "Europe/Berlin");
        Assert.Equal(["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-26T01:00:00Z"],
            Next(halfHours, "2026-10-24T23:00:00Z", 5));
    }

    [Fact]
    public void The_last_days_of_months_and_the_leap_day_come_only_when_the_month_has_them()
    {
        Assert.Equal(["2026-01-31T12:00:00Z", "2026-03-31T12:00:00Z", "2026-05-31T12:00:00Z"], Next(Cron("0 12 31 * *"), "2026-01-01T00:00:00Z", 3));
        Assert.Equal(["2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z"], Next(Cron("0 0 30 * *"), "2026-01-01T00:00:00Z", 2));
        Assert.Equal(["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"], Next(Cron("0 0 29 2 *"), "2026-01-01T00:00:00Z", 2));
        Assert.Equal(["2026-01-31T00:00:00Z", "2026-02-28T00:00:00Z", "2028-02-29T00:00:00Z"],
            [Next(Cron("0 0 L * *"), "2026-01-01T00:00:00Z", 2)[0], Next(Cron("0 0 L * *"), "2026-02-01T00:00:00Z", 1)[0], Next(Cron("0 0 L 2 *"), "2028-01-01T00:00:00Z", 1)[0]]);
    }

    [Fact]
    public void Six_fields_put_seconds_first_and_five_fields_read_as_celerys_crontab()
    {
        Assert.Equal(["2026-01-01T00:00:15Z", "2026-01-01T00:00:30Z"], Next(Cron("*/15 * * * * *"), "2026-01-01T00:00:00Z", 2));
        // minute hour day-of-month month day-of-week: weekdays at 09:00 (2 January 2026 is a Friday).
        Assert.Equal(["2026-01-02T09:00:00Z", "2026-01-05T09:00:00Z"], Next(Cron("0 9 * * mon-fri"), "2026-01-01T10:00:00Z", 2));
    }

    [Fact]
    public void Intervals_count_from_their_anchor_and_a_clocked_entry_has_one_tick()
    {
        var interval = Entry("""{"task": "tasks.add", "interval": 90}""");
        Assert.Equal(["2026-01-01T00:01:30Z", "2026-01-01T00:03:00Z", "2026-01-01T00:04:30Z"], Next(interval, "2026-01-01T00:00:00Z", 3));
        Assert.Equal(["2026-01-01T00:03:00Z"], Next(interval, "2026-01-01T00:01:30Z", 1));
        Assert.Equal(2, BeatSchedule.CountBetween(interval, Anchor, At("2026-01-01T00:00:00Z"), At("2026-01-01T00:04:00Z")));
        Assert.Equal(At("2026-01-01T00:03:00Z"), BeatSchedule.LatestBetween(interval, Anchor, At("2026-01-01T00:00:00Z"), At("2026-01-01T00:04:29Z")));
        var clocked = Entry("""{"task": "tasks.add", "clocked": "2026-06-01T12:00:00+02:00"}""");
        Assert.Equal(["2026-06-01T10:00:00Z"], Next(clocked, "2026-01-01T00:00:00Z", 5));
        Assert.Empty(Next(clocked, "2026-06-01T10:00:00Z", 1));
        Assert.Equal(At("2026-01-01T00:00:01Z"), BeatSchedule.Anchor(At("2026-01-01T00:00:00.250Z")));
    }

    [Fact]
    public void Schedules_are_described_in_words()
    {
        Assert.Equal("at 03:00 every day (Europe/Berlin)", BeatSchedule.Describe(Cron("0 3 * * *", "Europe/Berlin")));
        Assert.Equal("every 5 minutes (UTC)", BeatSchedule.Describe(Cron("*/5 * * * *")));
        Assert.Equal("at 09:30 on Monday to Friday (UTC)", BeatSchedule.Describe(Cron("30 9 * * 1-5")));
        Assert.Equal("every 30 seconds", BeatSchedule.Describe(Entry("""{"task": "t", "interval": 30}""")));
        Assert.Equal("every 2 hours", BeatSchedule.Describe(Entry("""{"task": "t", "interval": 7200}""")));
    }
}
