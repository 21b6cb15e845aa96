using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Jobs.Actors.Control;

namespace Jobs.Cli;

/// <summary>One connection to a node's command host: a request line out, a reply line back.</summary>
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

    public async Task<JsonObject> SendAsync(string palette, string command, IEnumerable<string> args, string? token)
    {
        await _writer.WriteLineAsync(CommandProtocol.Request(palette, command, args, token).ToJsonString());
        var line = await _reader.ReadLineAsync() ?? throw new IOException("the node closed the connection");
        return JsonNode.Parse(line)!.AsObject();
    }

    public void Dispose() => _tcp.Dispose();
}
