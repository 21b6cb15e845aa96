using System.Net.Sockets;
using System.Text.Json;
using Jobs.Actors.Control;
using Jobs.Cli;

// jobs HOST:PORT PALETTE COMMAND [ARGS] [--json] [--token T]   (pbm's shape: `jobs 127.0.0.1:9110 cluster show`)
const string Usage = "usage: jobs HOST:PORT PALETTE COMMAND [ARGS] [--json] [--token TOKEN]\n       jobs HOST:PORT help";
var json = args.Contains("--json");
var tokenAt = Array.IndexOf(args, "--token");
var token = tokenAt >= 0 && tokenAt + 1 < args.Length ? args[tokenAt + 1] : Environment.GetEnvironmentVariable("JOBS_AUTH_TOKEN");
var words = args.Where((a, i) => a != "--json" && (tokenAt < 0 || (i != tokenAt && i != tokenAt + 1))).ToArray();
if (words.Length < 2 || !TryEndpoint(words[0], out var host, out var port))
{
    Console.Error.WriteLine(Usage);
    return 2;
}
if (words[1] == "help")
{
    foreach (var (palette, commands) in CommandPalettes.Commands)
        Console.WriteLine($"{palette,-8} {string.Join(", ", commands)}");
    return 0;
}
if (words.Length < 3)
{
    Console.Error.WriteLine(Usage);
    return 2;
}

try
{
    using var client = await CommandClient.ConnectAsync(host, port, TimeSpan.FromSeconds(5));
    var reply = await client.SendAsync(words[1], words[2], words[3..], string.IsNullOrEmpty(token) ? null : token);
    if (reply["ok"]?.GetValue<bool>() != true)
    {
        Console.Error.WriteLine($"error: {reply["error"]?.GetValue<string>()}");
        return 1;
    }
    Console.WriteLine(json ? reply["result"]?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? "null" : Rendering.Render(reply["result"]));
    return 0;
}
catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
{
    Console.Error.WriteLine($"error: cannot reach a node at {host}:{port} ({e.Message}); is it running, and is that its command port (--cmd-port, default 9110)?");
    return 2;
}

static bool TryEndpoint(string text, out string host, out int port)
{
    var colon = text.LastIndexOf(':');
    host = colon > 0 ? text[..colon] : "";
    port = 0;
    return colon > 0 && int.TryParse(text[(colon + 1)..], out port) && port is > 0 and < 65536;
}
