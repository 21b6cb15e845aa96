using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Jobs.Tests.Infrastructure;

/// <summary>A command of one of README's shell blocks, with the answer README shows for it (the <c>#</c> lines after it).</summary>
public sealed record ReadmeCommand(string Line, IReadOnlyList<string> Expected);

/// <summary>README's fenced <c>sh</c> blocks, read section by section.</summary>
public static class Readme
{
    /// <summary>The commands of the <c>```sh</c> blocks under <c>## <paramref name="heading"/></c>, up to the next heading of that level.</summary>
    public static IReadOnlyList<ReadmeCommand> Commands(string heading)
    {
        var lines = File.ReadAllLines(Path.Combine(RepositoryRoot.Find(), "README.md"));
        var start = Array.IndexOf(lines, "## " + heading);
        if (start < 0)
            throw new InvalidOperationException($"README has no section '## {heading}'");
        var commands = new List<(string Line, List<string> Expected)>();
        var inBlock = false;
        for (var i = start + 1; i < lines.Length && !lines[i].StartsWith("## ", StringComparison.Ordinal); i++)
        {
            var line = lines[i];
            if (!inBlock)
            {
                inBlock = line == "```sh";
                continue;
            }
            if (line.StartsWith("```", StringComparison.Ordinal))
                inBlock = false;
            else if (line.StartsWith('#'))
            {
                if (commands.Count == 0)
                    throw new InvalidOperationException($"README's '{heading}' shows an answer before any command: {line}");
                commands[^1].Expected.Add(line[1..].Trim());
            }
            else if (line.Trim().Length > 0)
                commands.Add((line, []));
        }
        return commands.Select(c => new ReadmeCommand(c.Line, c.Expected)).ToList();
    }
}

/// <summary>
/// Runs README's commands as a reader would, through bash in the repository root, with only ports and the data
/// directory substituted:
/// <list type="bullet">
/// <item>README's ports 4053 (cluster), 5555 (HTTP), 9110 (commands) and 6379 (Redis) become free ports wherever they
/// are written, in commands and answers; a node started without them is given them in the environment (README: every
/// option is also an environment variable): <c>JOBS_PORT</c> for a standalone or seed node without <c>--port</c>,
/// <c>JOBS_HTTP</c> for a standalone or api node without <c>--http</c>, and <c>JOBS_CMD_PORT</c> for every node: the
/// first node started gets the 9110 substitute (as it gets 9110 itself), later ones a free port each (as they would
/// take one, 9110 being taken).</item>
/// <item>The data directory: every node is given <c>JOBS_DATA=DIR/data/jobs.db</c>, DIR a temp directory of this
/// session, instead of <c>./data/jobs.db</c> in the repository.</item>
/// <item>Ids: README shows ids as a few hex digits and an ellipsis (<c>6f1c…</c>). The first answer whose place
/// holds one binds it to the real id, and later commands and answers use that id.</item>
/// </list>
/// A line that starts a node (<c>dotnet run … --project Jobs.Node|Jobs.Seed|Jobs.Api</c>, with or without a trailing
/// <c>&amp;</c>) keeps running, and the next line runs once its banner is printed, as a reader waits for it. A
/// <c>redis-server</c> line stands for the Redis of the fixture (its port is the 6379 substitute). Every other line runs
/// to its end and must answer what README shows below it (JSON compared as JSON; text line by line, in any order,
/// with runs of spaces alike and <c>…</c> standing for any text), asked again under a deadline while the cluster
/// settles (membership and the task catalog spread by gossip).
/// </summary>
public sealed class ReadmeSession : IAsyncDisposable
{
    private static readonly Regex NodeLine = new(@"\bdotnet run\b.*--project\s+(?<project>Jobs\.(Node|Seed|Api))\b");
    private static readonly Regex IdOrAnyText = new(@"(?<![0-9A-Za-z])[0-9a-f]{4,}…|…");
    private static readonly Regex Id = new(@"^[0-9a-f]{4,}…$");

    /// <summary>
    /// A node's `dotnet run` checks the build first: seconds on an up-to-date tree, but a build when anything changed,
    /// minutes on a loaded 2-core machine.
    /// </summary>
    private static readonly TimeSpan NodeStart = TimeSpan.FromMinutes(3);

    private readonly string _root = RepositoryRoot.Find();
    private readonly Dictionary<string, string> _ports;
    private readonly List<NodeProcess> _nodes = [];
    private Dictionary<string, string> _ids = new();

    /// <param name="redisPort">The fixture's Redis, standing for README's <c>redis-server --port 6379</c>.</param>
    public ReadmeSession(int? redisPort = null)
    {
        DataDir = Directory.CreateTempSubdirectory("jobs-readme-").FullName;
        _ports = new Dictionary<string, string>
        {
            ["4053"] = FreePort.Next().ToString(), ["5555"] = FreePort.Next().ToString(), ["9110"] = FreePort.Next().ToString(),
        };
        if (redisPort is not null)
            _ports["6379"] = redisPort.Value.ToString();
    }

    public string DataDir { get; }

    /// <summary>The nodes README's lines started, in order.</summary>
    public IReadOnlyList<NodeProcess> Nodes => _nodes;

    /// <summary>Commands that ran to their end and answered as README shows.</summary>
    public int Answered { get; private set; }

    /// <summary>Runs one of README's lines; <paramref name="timeout"/> is how long its answer may take to be README's.</summary>
    public async Task RunAsync(ReadmeCommand command, TimeSpan timeout)
    {
        var line = Substitute(command.Line);
        if (command.Line.StartsWith("redis-server ", StringComparison.Ordinal))
        {
            if (!_ports.ContainsKey("6379") || !command.Line.Contains("--port 6379"))
                throw new InvalidOperationException($"README's `{command.Line}` stands for the fixture's Redis only as `redis-server --port 6379 …`");
            return;
        }
        var node = NodeLine.Match(line);
        if (node.Success)
            await StartNodeAsync(command, line, node.Groups["project"].Value);
        else
            await RunUntilAnsweredAsync(command, line, timeout);
    }

    private async Task StartNodeAsync(ReadmeCommand command, string line, string project)
    {
        if (command.Expected.Count > 0)
            throw new InvalidOperationException($"README shows an answer for `{command.Line}`, which starts a node");
        // The spec keeps the node running itself; a comment and a trailing & change nothing else.
        line = Regex.Replace(line, @"\s+#.*$", "").TrimEnd().TrimEnd('&').TrimEnd();
        var standalone = project == "Jobs.Node" && Regex.IsMatch(line, @"--standalone\b");
        var environment = Environment();
        environment["JOBS_DATA"] = Path.Combine(DataDir, "data", "jobs.db");
        if ((standalone || project == "Jobs.Seed") && !line.Contains("--port"))
            environment["JOBS_PORT"] = _ports["4053"];
        if ((standalone || project == "Jobs.Api") && !line.Contains("--http"))
            environment["JOBS_HTTP"] = $"127.0.0.1:{_ports["5555"]}";
        if (!line.Contains("--cmd-port"))
            environment["JOBS_CMD_PORT"] = _nodes.Count == 0 ? _ports["9110"] : FreePort.Next().ToString();
        var process = NodeProcess.StartShell(line, _root, environment);
        _nodes.Add(process);
        // The banner's commands line is printed once the node is Up and serves.
        await process.WaitForOutputAsync(l => l.StartsWith("  commands:", StringComparison.Ordinal), NodeStart);
    }

    private async Task RunUntilAnsweredAsync(ReadmeCommand command, string line, TimeSpan timeout)
    {
        if (IdOrAnyText.Matches(line).FirstOrDefault(m => m.Value != "…") is { } unbound)
            throw new InvalidOperationException($"README's `{command.Line}` uses {unbound.Value} before an answer shows it");
        var expected = command.Expected.Select(Substitute).ToList();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var (exit, stdout, stderr) = await RunToEndAsync(line);
            var ids = new Dictionary<string, string>(_ids);
            if (exit == 0 && Answers(expected, stdout, ids))
            {
                _ids = ids;
                Answered++;
                return;
            }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"README's `{command.Line}`, run as `{line}`, did not answer as README shows within {timeout}." +
                    $"{System.Environment.NewLine}README shows:{System.Environment.NewLine}{string.Join(System.Environment.NewLine, expected)}" +
                    $"{System.Environment.NewLine}last answer (exit {exit}):{System.Environment.NewLine}{stdout}{stderr}");
            await Task.Delay(500);
        }
    }

    private async Task<(int Exit, string Out, string Err)> RunToEndAsync(string line)
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = _root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(line);
        foreach (var (key, value) in Environment())
        {
            if (value is null)
                info.Environment.Remove(key);
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{line}` did not finish within 90 s");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The inherited environment without any JOBS_* variable, so only what README writes reaches the commands.</summary>
    private static Dictionary<string, string?> Environment() =>
        System.Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("JOBS_", StringComparison.Ordinal))
            .ToDictionary(k => k, _ => (string?)null);

    /// <summary>README's ports as this session's, and the ids bound so far.</summary>
    private string Substitute(string text)
    {
        foreach (var (readme, ours) in _ports)
            text = Regex.Replace(text, $@"(?<!\d){readme}(?!\d)", ours);
        return IdOrAnyText.Replace(text, m => _ids.TryGetValue(m.Value, out var id) ? id : m.Value);
    }

    private static bool Answers(IReadOnlyList<string> expected, string stdout, Dictionary<string, string> ids)
    {
        if (expected.Count == 1 && expected[0].StartsWith('{'))
        {
            try
            {
                return JsonLike(JsonNode.Parse(expected[0]), JsonNode.Parse(stdout), ids);
            }
            catch (JsonException)
            {
                return false;
            }
        }
        var lines = stdout.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (lines.Count != expected.Count)
            return false;
        foreach (var want in expected)
        {
            var match = lines.FindIndex(l => Like(want, l, ids));
            if (match < 0)
                return false;
            lines.RemoveAt(match);
        }
        return true;
    }

    private static bool JsonLike(JsonNode? expected, JsonNode? actual, Dictionary<string, string> ids)
    {
        switch (expected)
        {
            case JsonObject wantObject:
                return actual is JsonObject gotObject && gotObject.Count == wantObject.Count &&
                    wantObject.All(p => gotObject.TryGetPropertyValue(p.Key, out var value) && JsonLike(p.Value, value, ids));
            case JsonArray wantArray:
                return actual is JsonArray gotArray && gotArray.Count == wantArray.Count &&
                    wantArray.Select((w, i) => JsonLike(w, gotArray[i], ids)).All(ok => ok);
            case JsonValue wantText when wantText.GetValueKind() == JsonValueKind.String:
                return actual is JsonValue gotText && gotText.GetValueKind() == JsonValueKind.String &&
                    Like(wantText.GetValue<string>(), gotText.GetValue<string>(), ids);
            default:
                return JsonNode.DeepEquals(expected, actual);
        }
    }

    /// <summary>
    /// Whether <paramref name="actual"/> is what <paramref name="expected"/> shows: runs of spaces alike, a bound id
    /// as that id, an unbound one binding to the id in its place, any other <c>…</c> as any text without spaces.
    /// </summary>
    private static bool Like(string expected, string actual, Dictionary<string, string> ids)
    {
        var pattern = new StringBuilder("^");
        var unbound = new List<string>();
        var at = 0;
        foreach (Match m in IdOrAnyText.Matches(expected))
        {
            pattern.Append(Literal(expected[at..m.Index]));
            if (!Id.IsMatch(m.Value))
                pattern.Append(@"\S*");
            else if (ids.TryGetValue(m.Value, out var id))
                pattern.Append(Regex.Escape(id));
            else if (unbound.IndexOf(m.Value) is var seen and >= 0)
                pattern.Append($@"\k<id{seen}>");
            else
            {
                pattern.Append($"(?<id{unbound.Count}>[0-9A-Za-z-]+)");
                unbound.Add(m.Value);
            }
            at = m.Index + m.Length;
        }
        pattern.Append(Literal(expected[at..])).Append('$');
        var match = Regex.Match(actual, pattern.ToString());
        if (!match.Success)
            return false;
        for (var i = 0; i < unbound.Count; i++)
            ids[unbound[i]] = match.Groups[$"id{i}"].Value;
        return true;
    }

    private static string Literal(string text) => Regex.Replace(Regex.Escape(text), @"(\\ |\\t|\s)+", @"\s+");

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
