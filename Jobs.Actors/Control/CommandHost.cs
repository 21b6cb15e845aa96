using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Event;
using Jobs.Actors.Hosting;

namespace Jobs.Actors.Control;

/// <summary>
/// Every node's command host (Petabridge.Cmd's role): line-delimited JSON over TCP on 127.0.0.1:9110 by default,
/// one request and one reply per line, many requests per connection. A bad request is answered with an error;
/// it never takes the node down.
/// </summary>
public sealed class CommandHost : IAsyncDisposable
{
    public const int DefaultPort = 9110;

    private readonly TcpListener _listener;
    private readonly CommandPalettes _palettes;
    private readonly ILoggingAdapter _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private readonly byte[]? _token;

    private CommandHost(TcpListener listener, JobsNode node, string? token)
    {
        _token = token is null ? null : Encoding.UTF8.GetBytes(token);
        _listener = listener;
        _palettes = new CommandPalettes(node);
        _log = Logging.GetLogger(node.System, "command-host");
        _accepting = AcceptAsync();
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Listens on loopback at <paramref name="port"/> (0 takes a free port).</summary>
    /// <remarks>With <paramref name="token"/>, every request must carry it in its <c>"token"</c> field.</remarks>
    public static CommandHost Start(JobsNode node, int port, string? token = null)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        return new CommandHost(listener, node, token);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.UTF8);
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
            try
            {
                while (await reader.ReadLineAsync(_stop.Token).ConfigureAwait(false) is { } line)
                    await writer.WriteLineAsync((await AnswerAsync(line).ConfigureAwait(false)).ToJsonString()).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away or the node is stopping.
            }
        }
    }

    private async Task<JsonObject> AnswerAsync(string line)
    {
        try
        {
            var request = JsonNode.Parse(line) as JsonObject ?? throw new CommandException("a request must be a JSON object");
            if (_token is not null && !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                    Encoding.UTF8.GetBytes(request["token"]?.GetValue<string>() ?? ""), _token))
                throw new CommandException("refused: missing or wrong token (jobs --token or JOBS_AUTH_TOKEN)");
            var version = request["v"]?.GetValue<int>() ?? 0;
            if (version != CommandProtocol.Version)
                throw new CommandException($"protocol version {version} is not supported; this node speaks {CommandProtocol.Version}");
            var palette = request["palette"]?.GetValue<string>() ?? throw new CommandException("the request names no palette");
            var command = request["command"]?.GetValue<string>() ?? throw new CommandException("the request names no command");
            var args = request["args"]?.AsArray().Select(a => a!.GetValue<string>()).ToArray() ?? [];
            return CommandProtocol.Ok(await _palettes.RunAsync(palette, command, args).ConfigureAwait(false));
        }
        catch (Exception e) when (e is CommandException or JsonException or InvalidOperationException or FormatException)
        {
            return CommandProtocol.Error(e.Message);
        }
        catch (Exception e)
        {
            _log.Warning("Command failed: {0}: {1}", e.GetType().Name, e.Message);
            return CommandProtocol.Error($"{e.GetType().Name}: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
    }
}
