using System.Text.Json.Nodes;
using Jobs.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Jobs.Tests.Dashboard;

/// <summary>
/// Everything the dashboard shows comes from whoever sends tasks or runs workers: task names, arguments, results,
/// exceptions and tracebacks, worker and queue names carrying HTML and script are shown as text and run nothing, and
/// the page runs under a Content-Security-Policy it never violates.
/// </summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardHostileContentSpec(BrowserFixture browser) : IAsyncLifetime
{
    // Each payload, if it ever ran, would set window.__xss or open a dialog.
    private const string Img = "<img src=x onerror=\"window.__xss='img';alert(1)\">";
    private const string Script = "</script><script>window.__xss='script';alert(2)</script>";
    private const string Svg = "\"><svg onload=\"window.__xss='svg'\">";
    private const string Link = "javascript:window.__xss='link'";
    private const string WorkerName = "<b onmouseover=\"window.__xss='worker'\">w</b>";
    private const string QueueName = "<i onclick=\"window.__xss='queue'\">q</i>";

    private readonly StandaloneNode _node = new("--hostname", WorkerName, "--queues", $"default,{QueueName}");

    public Task InitializeAsync() => _node.StartAsync();

    public Task DisposeAsync() => _node.DisposeAsync().AsTask();

    [Fact]
    public async Task Html_and_script_in_every_field_the_dashboard_shows_is_text_that_runs_nothing_under_a_policy_never_violated()
    {
        var echo = await _node.SendAsync("tasks.echo", new { args = new object[] { new object[] { Img, Script, Svg, Link } } });
        var fail = await _node.SendAsync("tasks.fail", new { args = new[] { Img + Script } });
        var (status, unknown) = await _node.Node.PostAsync($"api/task/send-task/{Uri.EscapeDataString(Img)}", new { args = new[] { Svg } });
        Assert.Equal(200, status);
        var unknownId = unknown!["task-id"]!.GetValue<string>();
        var (_, chord) = await _node.Node.PostAsync("api/canvas", new JsonObject
        {
            ["subtask_type"] = "chord",
            ["kwargs"] = new JsonObject
            {
                ["header"] = new JsonArray(new JsonObject { ["task"] = "tasks.echo", ["args"] = new JsonArray(Script) }),
                ["body"] = new JsonObject { ["task"] = "tasks.echo", ["args"] = new JsonArray(Link), ["immutable"] = true },
            },
        }.ToJsonString());
        var chordId = chord!["task-id"]!.GetValue<string>();
        foreach (var id in new[] { echo, fail, unknownId })
            await _node.ResultAsync(id, TimeSpan.FromSeconds(60));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await _node.Node.GetAsync($"api/canvas/{chordId}?timeout=5")).Body?["state"]?.GetValue<string>() != "SUCCESS")
            Assert.True(DateTime.UtcNow < deadline, "the chord did not finish");

        var page = await browser.NewPageAsync();
        var dialogs = new List<string>();
        page.Dialog += async (_, dialog) =>
        {
            dialogs.Add(dialog.Message);
            await dialog.DismissAsync();
        };
        var console = new List<string>();
        page.Console += (_, message) => console.Add(message.Text);
        // Recorded from the page's own side too, for violations the console would not name.
        await page.AddInitScriptAsync("""
            window.__violations = [];
            document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
            """);
        var url = $"http://127.0.0.1:{_node.HttpPort}/";
        var response = await page.GotoAsync(url + "#/tasks");
        Assert.Contains("script-src 'self'", response!.Headers["content-security-policy"]);

        await Expect(page.Locator($"tr[data-uuid='{echo}'] .state")).ToHaveTextAsync("SUCCESS", new() { Timeout = 30_000 });
        await Expect(page.Locator("#tasks-body")).ToContainTextAsync(Img);
        await Expect(page.Locator("#tasks-body")).ToContainTextAsync(WorkerName);

        await page.GotoAsync(url + $"#/task/{echo}");
        await Expect(page.Locator("main")).ToContainTextAsync(Script);
        await Expect(page.Locator("main")).ToContainTextAsync(Link);
        await page.GotoAsync(url + $"#/task/{fail}");
        // The exception's repr escapes markup as JSON does (\u003C); the traceback carries the message as it was.
        await Expect(page.Locator("#task-exception")).ToContainTextAsync("img src=x onerror=");
        await Expect(page.Locator("#task-traceback")).ToContainTextAsync(Img);
        await page.GotoAsync(url + $"#/task/{unknownId}");
        await Expect(page.Locator("main")).ToContainTextAsync(Img);
        await page.GotoAsync(url + $"#/canvas/{chordId}");
        await Expect(page.Locator("#canvas-state")).ToHaveTextAsync("SUCCESS", new() { Timeout = 30_000 });
        await Expect(page.Locator("#canvas-view")).ToContainTextAsync(Script);
        await page.GotoAsync(url + "#/workers");
        await Expect(page.Locator("#workers-body")).ToContainTextAsync(WorkerName);
        await Expect(page.Locator("#workers-body")).ToContainTextAsync(QueueName);
        await page.Locator("#workers-body td").First.HoverAsync();
        await page.GotoAsync(url + "#/queues");
        await Expect(page.Locator("#queues")).ToContainTextAsync(QueueName);
        await page.Locator("#queues td").First.ClickAsync();
        await page.GotoAsync(url + "#/rates");
        await page.GotoAsync(url + "#/cluster");
        await Expect(page.Locator("#members tbody tr")).ToHaveCountAsync(1);

        Assert.Null(await page.EvaluateAsync<string?>("() => window.__xss ?? null"));
        Assert.Empty(dialogs);
        Assert.Empty(await page.EvaluateAsync<string[]>("() => window.__violations"));
        Assert.DoesNotContain(console, line => line.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }
}
