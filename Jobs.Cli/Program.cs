using Jobs.Cli;

// jobs HOST:PORT [PALETTE COMMAND [ARGS]] [--json] [--token T]   (pbm's shape: `jobs 127.0.0.1:9110 cluster show`)
const string Usage = """
    usage: jobs HOST:PORT PALETTE COMMAND [ARGS] [--json] [--token TOKEN]
           jobs HOST:PORT                (interactive prompt: history, tab completion, help, exit)
           jobs HOST:PORT help
    """;
var json = args.Contains("--json");
var tokenAt = Array.IndexOf(args, "--token");
if (tokenAt >= 0 && tokenAt + 1 >= args.Length)
{
    Console.Error.WriteLine("error: --token needs a value");
    return CommandRunner.UsageOrUnreachable;
}
var token = tokenAt >= 0 ? args[tokenAt + 1] : Environment.GetEnvironmentVariable("JOBS_AUTH_TOKEN");
var words = args.Where((a, i) => a != "--json" && (tokenAt < 0 || (i != tokenAt && i != tokenAt + 1))).ToArray();
if (words.Length == 0 || !TryEndpoint(words[0], out var host, out var port) || words.Length == 2 && words[1] != "help")
{
    Console.Error.WriteLine(Usage);
    return CommandRunner.UsageOrUnreachable;
}
var runner = new CommandRunner(host, port, string.IsNullOrEmpty(token) ? null : token, json);
if (words.Length == 1)
    return await new Prompt(runner).RunAsync();
if (words[1] == "help")
{
    CommandRunner.PrintHelp();
    return 0;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Ctrl-C ends a tail; the connection closes and the command exits normally.
    e.Cancel = true;
    stop.Cancel();
};
return await runner.RunAsync(null, words[1..], stop.Token);

static bool TryEndpoint(string text, out string host, out int port)
{
    var colon = text.LastIndexOf(':');
    host = colon > 0 ? text[..colon] : "";
    port = 0;
    return colon > 0 && int.TryParse(text[(colon + 1)..], out port) && port is > 0 and < 65536;
}
