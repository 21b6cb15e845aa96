using Jobs.Tests.Infrastructure;
using Jobs.Tests.Integration;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Jobs.Tests.Dashboard;

/// <summary>The Schedules page in a real browser: an entry's schedule and next runs, pause and resume, run now and its task.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardScheduleSpec(BrowserFixture browser, StandaloneNodeFixture fixture)
{
    private StandaloneNode Node => fixture.Node;

    [Fact]
    public async Task An_entry_is_paused_resumed_and_run_from_the_schedules_page_and_its_run_links_to_its_task()
    {
        var (status, created) = await Node.Node.PostAsync("api/schedules",
            new { name = "dash-nightly", task = "tasks.add", args = new[] { 2, 3 }, cron = "0 3 * * *", time_zone = "Europe/Berlin" });
        Assert.True(status == 201, created?.ToJsonString());

        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{Node.HttpPort}/#/schedules");
        var row = page.Locator("tr[data-entry='dash-nightly']");
        await Expect(row).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(row.Locator(".words")).ToHaveTextAsync("at 03:00 every day (Europe/Berlin)");
        await Expect(row.Locator("code")).ToHaveTextAsync("0 3 * * *");
        await Expect(row.Locator("ol.next-runs li")).ToHaveCountAsync(5);
        await Expect(row.Locator("ol.next-runs li .entry-zone").First).ToContainTextAsync("T03:00:00+0");
        await Expect(row.Locator("ol.next-runs li .viewer-zone").First).ToContainTextAsync(":00:00");

        await row.Locator("button[data-action='pause']").ClickAsync();
        await Expect(row.Locator(".badge.paused")).ToBeVisibleAsync();
        Assert.True((await Node.Node.GetAsync("api/schedules/dash-nightly")).Body!["paused"]!.GetValue<bool>());
        await row.Locator("button[data-action='resume']").ClickAsync();
        await Expect(row.Locator(".badge.paused")).ToHaveCountAsync(0);
        Assert.False((await Node.Node.GetAsync("api/schedules/dash-nightly")).Body!["paused"]!.GetValue<bool>());

        await row.Locator("button[data-action='run-now']").ClickAsync();
        await Expect(page.Locator("#schedules-message")).ToContainTextAsync("sent as beat:dash-nightly:1:run-now-1");
        var lastRun = row.Locator("a.last-run");
        await Expect(lastRun).ToHaveTextAsync("beat:dash-nightly:1:run-now-1");
        await Expect(row.Locator(".badge.SUCCESS")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await lastRun.ClickAsync();
        await Expect(page.Locator("#task-state")).ToHaveTextAsync("SUCCESS", new() { Timeout = 30_000 });
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }
}
