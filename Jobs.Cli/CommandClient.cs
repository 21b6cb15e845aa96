using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Jobs.Actors.Control;

namespace Jobs.Cli;

/// <summary>One connection to a node's command host: a request line out, reply lines back (several for a stream).</summary>
public sealed class CommandClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly StreamReader _reader;
    private readonly StreamWriter _writer;

    private CommandClient(TcpClient tcp)
    {
        _tcp = tcp;
        var stream = tcp.GetStream();
        _reader = new StreamReader(stream, Encoding.UTF8);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
    }

    public static async Task<CommandClient> ConnectAsync(string host, int port, TimeSpan timeout)
    {
        var tcp = new TcpClient();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await tcp.ConnectAsync(host, port, cancel.Token);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        return new CommandClient(tcp);
    }

    /// <summary>
    /// Sends one request and returns its reply; the items of a stream go to <paramref name="onItem"/> as they come.
    /// Cancelling <paramref name="cancel"/> ends a stream (the connection is then unusable).
    /// </summary>
    public async Task<JsonObject> SendAsync(string palette, string command, IEnumerable<string> args, string? token,
        Action<JsonNode?>? onItem = null, CancellationToken cancel = default)
    {
        await _writer.WriteLineAsync(CommandProtocol.Request(palette, command, args, token).ToJsonString().AsMemory(), cancel);
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancel) ?? throw new IOException("the node closed the connection");
            var reply = JsonNode.Parse(line)!.AsObject();
            if (!reply.ContainsKey("item"))
                return reply;
            onItem?.Invoke(reply["item"]);
        }
    }

    public void Dispose() => _tcp.Dispose();
}
