using System.Text.Json.Nodes;
using Jobs.Cli;
using Xunit;

namespace Jobs.Tests.Cli;

/// <summary>What Tab offers at the prompt, word by word, from the command catalog and what the node reported.</summary>
public sealed class CompletionSpec
{
    private static async Task<Completion> CompletionAsync()
    {
        var completion = new Completion();
        await completion.RefreshAsync((palette, command) => Task.FromResult<JsonNode?>((palette, command) switch
        {
            ("cluster", "show") => JsonNode.Parse("""{"members": [{"address": "akka.tcp://jobs@127.0.0.1:4053"}, {"address": "akka.tcp://jobs@127.0.0.1:4100"}]}"""),
            ("tasks", "registered") => JsonNode.Parse("""["tasks.add", "tasks.mul"]"""),
            ("tasks", "stats") => JsonNode.Parse("""{"w1": {"queues": ["default"]}, "w2": {"queues": ["default", "images"]}}"""),
            ("beat", "list") => JsonNode.Parse("""{"cleanup": {"task": "tasks.cleanup"}, "heartbeat": {"task": "tasks.echo"}}"""),
            _ => null,
        }));
        return completion;
    }

    [Fact]
    public async Task The_first_words_are_palettes_then_their_commands()
    {
        var completion = await CompletionAsync();
        Assert.Contains("cluster", completion.Candidates(""));
        Assert.Contains("exit", completion.Candidates("ex"));
        Assert.Equal(["show", "join", "leave", "down", "down-unreachable", "tail"], completion.Candidates("cluster "));
        Assert.Contains("shard-stats", completion.Candidates("sharding sh"));
    }

    [Fact]
    public async Task Arguments_come_from_the_usage_placeholders_and_what_the_node_reported()
    {
        var completion = await CompletionAsync();
        Assert.Contains("akka.tcp://jobs@127.0.0.1:4100", completion.Candidates("cluster leave "));
        Assert.Equal(["task", "queue", "canvas", "beat", "beat-directory", "--json"], completion.Candidates("sharding shard-stats "));
        Assert.Contains("tasks.mul", completion.Candidates("control rate-limit tasks.m"));
        Assert.Contains("--worker", completion.Candidates("control rate-limit tasks.add 10/s "));
        Assert.Equal(["w1", "w2"], completion.Candidates("control pool grow 2 --worker "));
        Assert.Contains("grow", completion.Candidates("control pool "));
        Assert.Contains("images", completion.Candidates("control cancel-consumer "));
        Assert.Contains("w2", completion.Candidates("control shutdown "));
        Assert.Contains("--terminate", completion.Candidates("control revoke abc "));
    }

    [Fact]
    public async Task Beat_commands_complete_entry_names_tasks_and_policy_choices()
    {
        var completion = await CompletionAsync();
        Assert.Equal(["list", "add", "remove", "pause", "resume", "run-now", "next"], completion.Candidates("beat "));
        Assert.Contains("heartbeat", completion.Candidates("beat pause "));
        Assert.Contains("cleanup", completion.Candidates("beat next c"));
        Assert.Contains("tasks.mul", completion.Candidates("beat add nightly "));
        Assert.Equal(["allow", "skip", "queue"], completion.Candidates("beat add nightly tasks.add --overlap "));
        Assert.Equal(["none", "once", "all"], completion.Candidates("beat add nightly tasks.add --cron '0 3 * * *' --catch-up "));
        Assert.Contains("images", completion.Candidates("beat add nightly tasks.add --queue "));
    }
}
