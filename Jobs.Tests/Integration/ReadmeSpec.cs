using System.Text.RegularExpressions;
using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// README's commands are tests: the shell blocks of "Quick start" and "A cluster on one machine" run as written, as
/// real processes through bash (`dotnet run -c Release --project …`), and answer what README shows. Only ports, the
/// data directory and the ids README abbreviates are substituted (<see cref="ReadmeSession"/> says how), so a README
/// change that breaks a command, or an answer README no longer gets, fails here.
/// </summary>
public sealed class ReadmeSpec
{
    // An answer is asked again until it is README's or this deadline passes: membership and the task catalog spread
    // by gossip within seconds, and the CLI lines are `dotnet run`s of their own.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task The_quick_start_node_answers_the_curl_lines_as_readme_shows()
    {
        var commands = Readme.Commands("Quick start");
        await using var session = new ReadmeSession();
        foreach (var command in commands)
            await session.RunAsync(command, Deadline);

        Assert.Single(session.Nodes);
        Assert.True(session.Answered >= 2, "the quick start shows the answers of its curl lines");
        // "The two commands" start the same node as the quick start.
        Assert.Equal(Command(Readme.Commands("The two commands")[0].Line), Command(commands[0].Line));
    }

    [Fact]
    public async Task The_cluster_on_one_machine_forms_shows_its_three_members_and_runs_a_task_on_the_worker()
    {
        using var redis = new RedisServer();
        var commands = Readme.Commands("A cluster on one machine");
        await using var session = new ReadmeSession(redis.Port);
        foreach (var command in commands)
            await session.RunAsync(command, Deadline);

        // What README's answers must go on saying for this spec to prove the section.
        Assert.Equal(3, session.Nodes.Count);
        var show = Assert.Single(commands, c => c.Line.Contains(" cluster show"));
        Assert.Equal(["seed", "worker", "api"], show.Expected.Skip(1).Select(l => Regex.Split(l, @"\s+")[^2]));
        Assert.All(show.Expected.Skip(1), l => Assert.Contains(" Up ", Regex.Replace(l, @"\s+", " ")));
        var query = Assert.Single(commands, c => c.Line.Contains(" tasks query "));
        Assert.Contains(query.Expected, l => l.Contains("SUCCESS") && l.Contains("worker@"));
    }

    /// <summary>A command without its comment and trailing &amp;.</summary>
    private static string Command(string line) => Regex.Replace(Regex.Replace(line, @"\s+#.*$", "").TrimEnd().TrimEnd('&'), @"\s+", " ").Trim();
}
