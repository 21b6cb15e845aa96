using Jobs.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Jobs.Tests.Dashboard;

/// <summary>The dashboard served by the api node of a multi-process cluster: workers come and go, members and shards show.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardClusterSpec(BrowserFixture browser)
{
    [Fact]
    public async Task The_workers_page_shows_a_worker_go_offline_when_its_process_is_killed()
    {
        using var redis = new RedisServer();
        await using var cluster = new ClusterProcesses(redis.ConnectionString);
        await cluster.StartAllAsync(2, "--concurrency", "2");
        var id = await cluster.SendAsync("tasks.add", new { args = new[] { 1, 2 } });
        await cluster.ResultAsync(id, TimeSpan.FromSeconds(60));

        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{cluster.ApiHttpPort}/#/workers");
        var w1 = page.Locator("#workers-body tr[data-worker]", new() { HasText = "w1" });
        var w2 = page.Locator("#workers-body tr[data-worker]", new() { HasText = "w2" });
        await Expect(w1.Locator(".status")).ToHaveTextAsync("Online", new() { Timeout = 60_000 });
        await Expect(w2.Locator(".status")).ToHaveTextAsync("Online", new() { Timeout = 60_000 });
        await page.EvaluateAsync("() => window.__notReloaded = true");

        await cluster.Workers["w2"].KillAsync();

        await Expect(w2.Locator(".status")).ToHaveTextAsync("Offline", new() { Timeout = 90_000 });
        await Expect(w1.Locator(".status")).ToHaveTextAsync("Online");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__notReloaded === true"));

        // The cluster page: every member with its roles, and the surviving worker hosting shards.
        await page.GotoAsync($"http://127.0.0.1:{cluster.ApiHttpPort}/#/cluster");
        var members = page.Locator("#members tbody tr");
        await Expect(members.Filter(new() { HasText = "api" })).ToHaveCountAsync(1, new() { Timeout = 60_000 });
        await Expect(members.Filter(new() { HasText = "worker" }).Filter(new() { HasText = "yes" }).First.Locator("td").Nth(4))
            .ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+ / \d+$"), new() { Timeout = 60_000 });
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }
}
