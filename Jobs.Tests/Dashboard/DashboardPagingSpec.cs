using Jobs.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Jobs.Tests.Dashboard;

/// <summary>
/// A thousand tasks on a node of their own: the task table pages, filters, searches and sorts on the server, and the
/// suite's screenshot of the dashboard (docs/dashboard.png) is taken here.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardPagingSpec(BrowserFixture browser, ThousandTasksFixture tasks) : IClassFixture<ThousandTasksFixture>
{
    private const int Muls = ThousandTasksFixture.Muls, Fails = ThousandTasksFixture.Fails;
    private readonly StandaloneNode _node = tasks.Node;
    private readonly IReadOnlyList<string> _failed = tasks.Failed;

    private string Url(string hash) => $"http://127.0.0.1:{_node.HttpPort}/#/{hash}";

    [Fact]
    public async Task A_thousand_tasks_are_paged_filtered_searched_and_sorted_by_the_server()
    {
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Url("tasks"));
        var info = page.Locator("#page-info");
        var rows = page.Locator("#tasks-body tr[data-uuid]");
        await Expect(info).ToHaveTextAsync("1–20 of 1000", new() { Timeout = 60_000 });
        await Expect(rows).ToHaveCountAsync(20);

        await page.Locator("#task-filters select[name=taskname]").SelectOptionAsync("tasks.mul");
        await Expect(info).ToHaveTextAsync($"1–20 of {Muls}");
        Assert.All(await rows.Locator(".name").AllTextContentsAsync(), name => Assert.Equal("tasks.mul", name));

        await page.Locator("#next-page").ClickAsync();
        await Expect(info).ToHaveTextAsync($"21–40 of {Muls}");
        await Expect(page.Locator("#prev-page")).ToBeEnabledAsync();
        Assert.All(await rows.Locator(".name").AllTextContentsAsync(), name => Assert.Equal("tasks.mul", name));

        await page.Locator("#task-filters select[name=taskname]").SelectOptionAsync("");
        await page.Locator("#task-filters select[name=state]").SelectOptionAsync("FAILURE");
        await page.Locator("#task-filters select[name=limit]").SelectOptionAsync("100");
        await Expect(info).ToHaveTextAsync($"1–{Fails} of {Fails}");
        await Expect(page.Locator("#next-page")).ToBeDisabledAsync();
        Assert.All(await rows.Locator(".state").AllTextContentsAsync(), state => Assert.Equal("FAILURE", state));
        Assert.Equal(_failed.Order(), (await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.uuid)")).Order());

        await page.Locator("#clear-filters").ClickAsync();
        await page.Locator("#task-filters input[name=search]").FillAsync(_failed[7]);
        await page.Locator("#task-filters input[name=search]").PressAsync("Enter");
        await Expect(info).ToHaveTextAsync("1–1 of 1");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToHaveAttributeAsync("data-uuid", _failed[7]);

        // The received window: tomorrow on has none of them, yesterday on has all.
        await page.Locator("#clear-filters").ClickAsync();
        await page.Locator("#task-filters input[name=received_start]").FillAsync(DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-ddTHH:mm"));
        await page.Locator("#task-filters button[type=submit]").ClickAsync();
        await Expect(info).ToHaveTextAsync("0 of 0");
        await Expect(page.Locator("#tasks-body")).ToContainTextAsync("No tasks match.");
        await page.Locator("#task-filters input[name=received_start]").FillAsync(DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-ddTHH:mm"));
        await page.Locator("#task-filters button[type=submit]").ClickAsync();
        await Expect(info).ToHaveTextAsync("1–100 of 1000");

        // Clearing the filters keeps the page size; sorting by name ascending puts tasks.add first, descending tasks.mul.
        await page.Locator("#clear-filters").ClickAsync();
        await Expect(info).ToHaveTextAsync("1–100 of 1000");
        await page.Locator("#tasks-table th[data-key=name]").ClickAsync();
        await Expect(page.Locator("#tasks-table th[data-key=name]")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("sorted-desc"));
        await Expect(rows.First.Locator(".name")).ToHaveTextAsync("tasks.mul");
        await page.Locator("#tasks-table th[data-key=name]").ClickAsync();
        await Expect(page.Locator("#tasks-table th[data-key=name]")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("sorted-asc"));
        await Expect(rows.First.Locator(".name")).ToHaveTextAsync("tasks.add");
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_suite_keeps_a_screenshot_of_the_dashboard_with_tasks_in_the_repository()
    {
        var page = await browser.NewPageAsync();
        await page.SetViewportSizeAsync(1360, 1020);
        await page.GotoAsync(Url("tasks"));
        await Expect(page.Locator("#page-info")).ToHaveTextAsync("1–20 of 1000", new() { Timeout = 60_000 });
        await Expect(page.Locator("#tasks-body tr[data-uuid]")).ToHaveCountAsync(20);
        await Expect(page.Locator("#tasks-body .state", new() { HasText = "FAILURE" }).First).ToBeVisibleAsync();
        await Expect(page.Locator("#tasks-body .state", new() { HasText = "SUCCESS" }).First).ToBeVisibleAsync();
        var path = RepositoryRoot.Screenshot("dashboard.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = false });
        Assert.True(new FileInfo(path).Length > 10_000);
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }
}

/// <summary>A node of its own with 600 adds, 300 muls and 100 failures, sent interleaved and all finished.</summary>
public sealed class ThousandTasksFixture : IAsyncLifetime
{
    public const int Muls = 300, Fails = 100;

    public StandaloneNode Node { get; } = new("--concurrency", "4");

    public List<string> Failed { get; } = new();

    public async Task InitializeAsync()
    {
        await Node.StartAsync();
        var sends = Enumerable.Range(0, 1000).Select(i => (i % 10) switch
        {
            9 => ("tasks.fail", (object)new { args = new[] { $"broken #{i}" } }),
            1 or 4 or 7 => ("tasks.mul", new { args = new[] { i, 3 } }),
            _ => ("tasks.add", new { args = new[] { i, i } }),
        }).ToArray();
        using var gate = new SemaphoreSlim(8);
        var ids = await Task.WhenAll(sends.Select(async send =>
        {
            await gate.WaitAsync();
            try
            {
                return (Name: send.Item1, Id: await Node.SendAsync(send.Item1, send.Item2));
            }
            finally
            {
                gate.Release();
            }
        }));
        Failed.AddRange(ids.Where(s => s.Name == "tasks.fail").Select(s => s.Id));
        foreach (var (_, id) in ids)
            await Node.ResultAsync(id, TimeSpan.FromSeconds(120));

        // The pages read the task index, which records the last results a moment after they were answered.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await FinishedInIndexAsync() < 1000)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"the task index lists {await FinishedInIndexAsync()} of the 1000 finished tasks");
            await Task.Delay(200);
        }
    }

    private async Task<long> FinishedInIndexAsync()
    {
        using var response = await Node.Node.Http!.GetAsync("api/tasks?state=SUCCESS,FAILURE&limit=1");
        return response.Headers.TryGetValues("X-Total-Count", out var total) ? long.Parse(total.Single()) : 0;
    }

    public Task DisposeAsync() => Node.DisposeAsync().AsTask();
}
