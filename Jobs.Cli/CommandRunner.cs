using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobs.Actors.Control;

namespace Jobs.Cli;

/// <summary>Runs one command against a node and prints its answer: a table, JSON with --json, or a stream's lines.</summary>
public sealed class CommandRunner(string host, int port, string? token, bool json)
{
    /// <summary>The same node and token, printing JSON or tables.</summary>
    public CommandRunner(CommandRunner other, bool json) : this(other.Host, other.Port, other.Token, json)
    {
    }

    private string Host => host;
    private int Port => port;
    private string? Token => token;

    public const int Refused = 1;
    public const int UsageOrUnreachable = 2;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string Endpoint => $"{host}:{port}";

    public Task<CommandClient> ConnectAsync() => CommandClient.ConnectAsync(host, port, TimeSpan.FromSeconds(5));

    /// <summary>
    /// Runs <c>PALETTE COMMAND ARGS…</c> on <paramref name="client"/>, or on a connection of its own when null (a stream
    /// always takes its own, since it ends its connection). Ctrl-C (<paramref name="cancel"/>) ends a stream.
    /// </summary>
    public async Task<int> RunAsync(CommandClient? client, IReadOnlyList<string> words, CancellationToken cancel)
    {
        var streams = IsStream(words[0], words[1]);
        var own = client is null || streams;
        try
        {
            var connection = own ? await ConnectAsync() : client!;
            try
            {
                var reply = await connection.SendAsync(words[0], words[1], words.Skip(2), token, PrintItem, streams ? cancel : default);
                if (reply["ok"]?.GetValue<bool>() != true)
                {
                    Console.Error.WriteLine($"error: {reply["error"]?.GetValue<string>()}");
                    return Refused;
                }
                if (!streams)
                    Console.WriteLine(json ? reply["result"]?.ToJsonString(Indented) ?? "null" : Rendering.Render(reply["result"]));
                return 0;
            }
            finally
            {
                if (own)
                    connection.Dispose();
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            return 0;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            Console.Error.WriteLine(Unreachable(e));
            return UsageOrUnreachable;
        }
    }

    /// <summary>A command's result, or null when the node refused it: what the prompt completes from.</summary>
    public async Task<JsonNode?> QueryAsync(CommandClient client, string palette, string command)
    {
        var reply = await client.SendAsync(palette, command, [], token);
        return reply["ok"]?.GetValue<bool>() == true ? reply["result"] : null;
    }

    public string Unreachable(Exception e) =>
        $"error: cannot reach a node at {Endpoint} ({e.Message}); is it running, and is that its command port (--cmd-port, default 9110)?";

    private void PrintItem(JsonNode? item) => Console.WriteLine(json ? item?.ToJsonString() ?? "null" : Rendering.RenderItem(item));

    private static bool IsStream(string palette, string command) => command == "tail" && palette is "cluster" or "log";

    /// <summary>Every command, or those of one palette.</summary>
    public static void PrintHelp(string? palette = null)
    {
        foreach (var usage in CommandCatalog.All.Where(c => palette is null || c.Palette == palette))
            Console.WriteLine($"{usage.Palette,-8} {(usage.Command + " " + usage.Arguments).TrimEnd(),-42} {usage.Summary}");
        Console.WriteLine("Options: --json (JSON for scripts), --token TOKEN (or JOBS_AUTH_TOKEN) for a node started with --auth-token.");
    }
}
