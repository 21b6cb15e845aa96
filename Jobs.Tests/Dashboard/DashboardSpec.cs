using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Jobs.Tests.Integration;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Jobs.Tests.Dashboard;

/// <summary>The dashboard in a real browser against a real node: live task rows, a failure's traceback, a chord's tree.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardSpec(BrowserFixture browser, StandaloneNodeFixture fixture)
{
    private StandaloneNode Node => fixture.Node;
    private string Url(string hash) => $"http://127.0.0.1:{Node.HttpPort}/#/{hash}";

    [Fact]
    public async Task A_task_sent_over_http_appears_in_the_open_task_table_and_turns_success_without_a_reload()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Url("tasks"));
        await Expect(page.Locator("#page-info")).ToBeVisibleAsync();
        // A reload would lose this marker.
        await page.EvaluateAsync("() => window.__notReloaded = true");

        var id = await Node.SendAsync("tasks.sleep", new { args = new[] { 0.5 } });

        var row = page.Locator($"tr[data-uuid='{id}']");
        await Expect(row).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(row.Locator(".state")).ToHaveTextAsync("SUCCESS", new() { Timeout = 30_000 });
        await Expect(row.Locator(".name")).ToHaveTextAsync("tasks.sleep");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notReloaded === true"));
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }

    [Fact]
    public async Task A_failed_task_page_shows_its_exception_and_traceback()
    {
        var id = await Node.SendAsync("tasks.fail", new { args = new[] { "the disk is full" } });
        Assert.Equal("FAILURE", (await Node.ResultAsync(id, TimeSpan.FromSeconds(30)))["state"]!.GetValue<string>());

        var page = await browser.NewPageAsync();
        await page.GotoAsync(Url("task/" + id));
        await Expect(page.Locator("#task-state")).ToHaveTextAsync("FAILURE");
        await Expect(page.Locator("#task-exception")).ToContainTextAsync("the disk is full");
        await Expect(page.Locator("#task-exception")).ToContainTextAsync("InvalidOperationException");
        var traceback = page.Locator("#task-traceback");
        await Expect(traceback).ToContainTextAsync("InvalidOperationException");
        await Expect(traceback).ToContainTextAsync("at ");
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }

    [Fact]
    public async Task A_chords_canvas_view_shows_every_header_task_and_the_body_with_their_states()
    {
        var header = Enumerable.Range(1, 4).Select(i => (object)new { task = "tasks.add", args = new[] { i, i } }).ToArray();
        var (status, started) = await Node.Node.PostAsync("api/canvas",
            new { subtask_type = "chord", kwargs = new { header, body = new { task = "tasks.xsum" } } });
        Assert.Equal(200, status);
        var canvasId = started!["task-id"]!.GetValue<string>();
        var memberIds = started["children"]!.AsArray().Select(c => c!.GetValue<string>()).ToArray();
        Assert.Equal(5, memberIds.Length);

        var page = await browser.NewPageAsync();
        await page.GotoAsync(Url("canvas/" + canvasId));
        await Expect(page.Locator("#canvas-state")).ToHaveTextAsync("SUCCESS", new() { Timeout = 30_000 });
        await Expect(page.Locator("#canvas-result")).ToHaveTextAsync("20");

        var headerTasks = page.Locator(".cv-header .cv-task");
        await Expect(headerTasks).ToHaveCountAsync(4);
        for (var i = 0; i < 4; i++)
        {
            await Expect(headerTasks.Nth(i).Locator(".cv-name")).ToHaveTextAsync("tasks.add");
            await Expect(headerTasks.Nth(i).Locator(".cv-args")).ToHaveTextAsync($"[{i + 1},{i + 1}]");
            await Expect(headerTasks.Nth(i).Locator(".cv-state")).ToHaveTextAsync("SUCCESS");
        }
        var body = page.Locator(".cv-body .cv-task");
        await Expect(body).ToHaveCountAsync(1);
        await Expect(body.Locator(".cv-name")).ToHaveTextAsync("tasks.xsum");
        await Expect(body.Locator(".cv-state")).ToHaveTextAsync("SUCCESS");
        var drawn = await page.Locator(".cv-task").EvaluateAllAsync<string[]>("nodes => nodes.map(n => n.dataset.id)");
        Assert.Equal(memberIds.Order(), drawn.Order());

        var shot = RepositoryRoot.Screenshot("dashboard-canvas.png");
        await page.Locator("#canvas-view").ScreenshotAsync(new() { Path = shot });

        // Each box links to its task's page, and that page back to the canvas.
        await body.ClickAsync();
        await Expect(page.Locator("#task-result")).ToHaveTextAsync("20");
        await page.Locator("#task-canvas").ClickAsync();
        await Expect(page.Locator(".cv-header .cv-task")).ToHaveCountAsync(4);
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_rates_page_counts_tasks_succeeding_while_it_is_open()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Url("rates"));
        await Expect(page.Locator("#rate-cards .card")).ToHaveCountAsync(3);
        await Expect(page.Locator("#live")).ToHaveTextAsync("live");
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
            ids.Add(await Node.SendAsync("tasks.add", new { args = new[] { i, i } }));
        foreach (var id in ids)
            await Node.ResultAsync(id, TimeSpan.FromSeconds(30));
        await page.WaitForFunctionAsync("() => parseInt(document.querySelector('#rate-cards .card .muted').textContent) >= 5",
            null, new() { Timeout = 30_000 });
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_queues_page_shows_the_default_queues_length()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Url("queues"));
        await Expect(page.Locator("#queues tr[data-queue='default'] .messages")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+$"));
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }
}
