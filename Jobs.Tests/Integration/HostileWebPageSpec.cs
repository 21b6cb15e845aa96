using System.Net;
using System.Text;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// What a web page the user opens can make their browser send to a node on loopback with no token: cross-site
/// requests (no preflight: text/plain, forms) and requests by a DNS-rebound name. None of them may change anything;
/// the node's own dashboard (same origin) and non-browser clients keep working.
/// </summary>
[Collection(StandaloneNodeCollection.Name)]
public sealed class HostileWebPageSpec(StandaloneNodeFixture fixture)
{
    private StandaloneNode Standalone => fixture.Node;
    private HttpClient Http => fixture.Node.Node.Http!;
    private string OwnOrigin => $"http://127.0.0.1:{Standalone.HttpPort}";

    private static HttpRequestMessage Post(string path, string body, string contentType, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        foreach (var (name, value) in headers)
            request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    [Fact]
    public async Task A_text_plain_post_from_a_foreign_origin_submits_nothing()
    {
        var id = "csrf-" + Guid.NewGuid().ToString("N");
        using var request = Post("api/task/async-apply/tasks.add", $$"""{"args": [2, 2], "task_id": "{{id}}"}""", "text/plain",
            ("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site"));
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("allowed-origins", await response.Content.ReadAsStringAsync());
        Assert.Empty(Standalone.JournaledEvents(id));
    }

    [Fact]
    public async Task A_json_body_a_browser_sends_as_text_plain_or_a_form_is_refused_with_415_and_submits_nothing()
    {
        foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x" })
        {
            var id = "plain-" + Guid.NewGuid().ToString("N");
            // Even from this node's own origin: only JSON a browser had to ask to send is read as JSON.
            using var request = Post("api/task/async-apply/tasks.add", $$"""{"args": [2, 2], "task_id": "{{id}}"}""", type,
                ("Origin", OwnOrigin), ("Sec-Fetch-Site", "same-origin"));
            using var response = await Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Contains("application/json", await response.Content.ReadAsStringAsync());
            Assert.Empty(Standalone.JournaledEvents(id));
        }
    }

    [Fact]
    public async Task A_client_that_is_not_a_browser_may_post_json_as_a_form_as_flowers_curl_examples_do()
    {
        var id = "curl-" + Guid.NewGuid().ToString("N");
        using var request = Post("api/task/async-apply/tasks.add", $$"""{"args": [2, 2], "task_id": "{{id}}"}""", "application/x-www-form-urlencoded");
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("TaskReceived", Standalone.JournaledEvents(id));
    }

    [Fact]
    public async Task A_request_naming_a_host_this_node_does_not_serve_is_refused_as_dns_rebinding()
    {
        using var read = new HttpRequestMessage(HttpMethod.Get, "api/task/types");
        read.Headers.Host = $"evil.example:{Standalone.HttpPort}";
        using var refused = await Http.SendAsync(read);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("allowed-hosts", await refused.Content.ReadAsStringAsync());

        // A rebound page is same-origin with itself: its POST carries the attacker's name as both Host and Origin.
        var id = "rebind-" + Guid.NewGuid().ToString("N");
        using var write = Post("api/task/async-apply/tasks.add", $$"""{"args": [2, 2], "task_id": "{{id}}"}""", "application/json",
            ("Origin", $"http://evil.example:{Standalone.HttpPort}"));
        write.Headers.Host = $"evil.example:{Standalone.HttpPort}";
        using var written = await Http.SendAsync(write);
        Assert.Equal(HttpStatusCode.BadRequest, written.StatusCode);
        Assert.Empty(Standalone.JournaledEvents(id));

        foreach (var name in new[] { "localhost", "127.0.0.1" })
        {
            using var own = new HttpRequestMessage(HttpMethod.Get, "api/task/types");
            own.Headers.Host = $"{name}:{Standalone.HttpPort}";
            Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(own)).StatusCode);
        }
    }

    [Fact]
    public async Task A_cross_site_form_post_to_a_control_endpoint_is_refused_while_same_origin_and_plain_clients_are_served()
    {
        // Lifting a rate limit ("0") changes nothing on the shared node, whoever is served.
        using (var crossSite = Post("api/task/rate-limit/tasks.add", "ratelimit=0", "application/x-www-form-urlencoded",
                   ("Origin", "http://evil.example"), ("Sec-Fetch-Site", "cross-site")))
            Assert.Equal(HttpStatusCode.Forbidden, (await Http.SendAsync(crossSite)).StatusCode);
        using (var sameSite = Post("api/task/rate-limit/tasks.add", "ratelimit=0", "application/x-www-form-urlencoded",
                   ("Origin", $"http://127.0.0.1:{FreePort.Next()}"), ("Sec-Fetch-Site", "same-site")))
            Assert.Equal(HttpStatusCode.Forbidden, (await Http.SendAsync(sameSite)).StatusCode);
        // An old browser may give only Origin, or "null" from a sandboxed frame.
        foreach (var origin in new[] { "http://evil.example", "null" })
        {
            using var request = Post("api/worker/pool/grow/nobody", "n=1", "application/x-www-form-urlencoded", ("Origin", origin));
            Assert.Equal(HttpStatusCode.Forbidden, (await Http.SendAsync(request)).StatusCode);
        }

        using (var plain = Post("api/task/rate-limit/tasks.add", "ratelimit=0", "application/x-www-form-urlencoded"))
            Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(plain)).StatusCode);
        using (var sameOrigin = Post("api/task/rate-limit/tasks.add", """{"ratelimit": "0"}""", "application/json",
                   ("Origin", OwnOrigin), ("Sec-Fetch-Site", "same-origin")))
            Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(sameOrigin)).StatusCode);
    }

    [Fact]
    public async Task A_same_origin_json_post_is_served_like_the_dashboard_s()
    {
        using var request = Post("api/task/async-apply/tasks.add", """{"args": [20, 22]}""", "application/json; charset=utf-8",
            ("Origin", OwnOrigin), ("Sec-Fetch-Site", "same-origin"));
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Every_answer_forbids_framing_sniffing_and_inline_script()
    {
        foreach (var path in new[] { "", "dashboard/app.js", "api/task/types", "healthcheck", "no/such/path" })
        {
            using var response = await Http.GetAsync(path);
            var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.Contains("script-src 'self'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        }
    }
}
