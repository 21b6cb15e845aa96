using System.Net;
using System.Net.Http.Headers;
using Jobs.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Jobs.Tests.Dashboard;

/// <summary>A node that requires a token: the dashboard takes it once as ?token=, keeps it for the tab and sends it as a bearer.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardAccessSpec(BrowserFixture browser)
{
    private const string Token = "dash-t0ken-91c2";

    [Fact]
    public async Task The_dashboard_works_on_a_node_with_a_token_given_once_in_the_address()
    {
        await using var node = new StandaloneNode("--auth-token", Token);
        await node.StartAsync();

        var page = await browser.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{node.HttpPort}/?token={Token}#/cluster");
        await Expect(page.Locator("#members tbody tr")).ToHaveCountAsync(1);
        Assert.DoesNotContain(Token, page.Url);
        Assert.Equal(Token, await page.EvaluateAsync<string>("() => sessionStorage.getItem('actorjobs-token')"));

        // Without the token the page asks for it instead of failing.
        await page.EvaluateAsync("() => sessionStorage.clear()");
        await page.ReloadAsync();
        await Expect(page.Locator("#token-input")).ToBeVisibleAsync();
        await page.Locator("#token-input").FillAsync(Token);
        await page.Locator("#token-form button").ClickAsync();
        await Expect(page.Locator("#members tbody tr")).ToHaveCountAsync(1);
        Assert.Empty(browser.ScriptErrors(page));
        await page.CloseAsync();
    }

    [Fact]
    public async Task The_token_is_taken_from_the_query_only_for_the_event_stream_and_the_page_itself_is_public()
    {
        await using var node = new StandaloneNode("--auth-token", Token);
        await node.StartAsync();
        var http = node.Node.Http!;

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("dashboard/app.js")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"api/cluster?token={Token}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/events?token=wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/events")).StatusCode);
        using var events = await http.GetAsync($"api/events?token={Token}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, events.StatusCode);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType!.MediaType);
        using var bearer = new HttpRequestMessage(HttpMethod.Get, "api/cluster");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(bearer)).StatusCode);
        Assert.DoesNotContain(Token, node.Node.OutputText);
    }
}
