using System.Net;
using System.Text.Json.Nodes;
using Jobs.Tests.Integration;
using Xunit;

namespace Jobs.Tests.Dashboard;

/// <summary>What the dashboard reads besides Flower's API: its own files, a canvas's tree, and the shards per node.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardApiSpec(StandaloneNodeFixture fixture)
{
    private HttpClient Http => fixture.Node.Node.Http!;

    [Fact]
    public async Task The_page_and_its_scripts_are_served_from_the_assembly_whatever_the_working_directory()
    {
        // The node runs in a fresh temp directory: nothing of the dashboard is on disk there.
        Assert.False(Directory.Exists(Path.Combine(fixture.Node.WorkDir, "Dashboard")));
        using var page = await Http.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        Assert.Contains("dashboard/app.js", await page.Content.ReadAsStringAsync());
        foreach (var file in new[] { "app.js", "core.js", "tasks.js", "task.js", "canvas.js", "workers.js", "cluster.js", "queues.js", "rates.js", "charts.js" })
        {
            using var script = await Http.GetAsync("dashboard/" + file);
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
            Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        }
        using var css = await Http.GetAsync("dashboard/app.css");
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);

        using var again = new HttpRequestMessage(HttpMethod.Get, "dashboard/app.css");
        again.Headers.TryAddWithoutValidation("If-None-Match", css.Headers.ETag!.Tag);
        Assert.Equal(HttpStatusCode.NotModified, (await Http.SendAsync(again)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("dashboard/secrets.json")).StatusCode);
    }

    [Fact]
    public async Task A_canvas_tree_has_the_chords_header_body_and_links_with_each_tasks_state()
    {
        var (status, started) = await fixture.Node.Node.PostAsync("api/canvas", """
            {"subtask_type": "chain", "kwargs": {"tasks": [
              {"task": "tasks.add", "args": [1, 1]},
              {"subtask_type": "chord", "kwargs": {"header": [{"task": "tasks.add", "args": [2]}, {"task": "tasks.mul", "args": [3]}],
                                                   "body": {"task": "tasks.xsum"}}}]},
             "options": {"link": {"task": "tasks.echo"}}}
            """);
        Assert.Equal(200, status);
        var id = started!["task-id"]!.GetValue<string>();
        var (done, result) = await fixture.Node.Node.GetAsync($"api/canvas/{id}?timeout=30");
        Assert.Equal(200, done);
        Assert.Equal(10, result!["result"]!.GetValue<int>()); // (2 + 2) + (2 * 3)

        var (treeStatus, tree) = await fixture.Node.Node.GetAsync($"api/canvas/{id}/tree");
        Assert.Equal(200, treeStatus);
        Assert.Equal("SUCCESS", tree!["state"]!.GetValue<string>());
        var root = tree["root"]!;
        Assert.Equal(id, root["id"]!.GetValue<string>());
        Assert.Equal("chain", root["type"]!.GetValue<string>());
        var steps = root["children"]!.AsArray();
        Assert.Equal(["task", "chord"], steps.Select(s => s!["type"]!.GetValue<string>()));
        Assert.Equal("tasks.add", steps[0]!["task"]!.GetValue<string>());
        Assert.Equal("[1,1]", steps[0]!["args"]!.ToJsonString());
        var chord = steps[1]!;
        Assert.Equal("SUCCESS", chord["state"]!.GetValue<string>());
        Assert.Equal(["tasks.add", "tasks.mul"], chord["children"]!.AsArray().Select(c => c!["task"]!.GetValue<string>()));
        Assert.All(chord["children"]!.AsArray(), c => Assert.Equal("SUCCESS", c!["state"]!.GetValue<string>()));
        Assert.Equal("tasks.xsum", chord["body"]!["task"]!.GetValue<string>());
        Assert.Equal("SUCCESS", chord["body"]!["state"]!.GetValue<string>());
        // A link is not a member: drawn, but its state is not the coordinator's to know.
        var link = root["link"]!.AsArray().Single()!;
        Assert.Equal("tasks.echo", link["task"]!.GetValue<string>());
        Assert.Null(link["state"]);
    }

    [Fact]
    public async Task An_unknown_canvas_has_no_tree()
    {
        var (status, body) = await fixture.Node.Node.GetAsync($"api/canvas/{Guid.NewGuid()}/tree");
        Assert.Equal(404, status);
        Assert.Contains("Unknown canvas", body!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_shards_per_node_list_every_entity_type_the_node_hosts()
    {
        await fixture.Node.SendAsync("tasks.add", new { args = new[] { 1, 1 } });
        var (status, body) = await fixture.Node.Node.GetAsync("api/cluster/shards");
        Assert.Equal(200, status);
        var (address, perType) = Assert.Single(body!.AsObject());
        Assert.StartsWith("akka.tcp://jobs@127.0.0.1:", address);
        Assert.Equal(["beat", "beat-directory", "canvas", "queue", "task"], perType!.AsObject().Select(p => p.Key).Order());
        Assert.True(perType["task"]!["shards"]!.GetValue<int>() >= 1);
        Assert.True(perType["task"]!["entities"]!.GetValue<int>() >= 1);
    }
}
