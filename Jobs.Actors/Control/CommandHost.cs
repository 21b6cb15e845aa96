using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Event;
using Jobs.Actors.Hosting;

namespace Jobs.Actors.Control;

/// <summary>
/// Every node's command host (Petabridge.Cmd's role): line-delimited JSON over TCP on 127.0.0.1:9110 by default,
/// many requests per connection, streams for the <c>tail</c> commands (see <see cref="CommandProtocol"/>).
/// It listens from the moment the actor system exists, so a node still looking for its cluster can be told to
/// <c>cluster join</c>. A bad request is answered with an error; it never takes the node down.
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

    private CommandHost(TcpListener listener, ActorSystem system, string? token)
    {
        _token = token is null ? null : Encoding.UTF8.GetBytes(token);
        _listener = listener;
        _palettes = new CommandPalettes(system);
        _log = Logging.GetLogger(system, "command-host");
        _accepting = AcceptAsync();
    }

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Listens on <paramref name="address"/> at <paramref name="port"/> (0 takes a free port).</summary>
    /// <remarks>With <paramref name="token"/>, every request must carry it in its <c>"token"</c> field.</remarks>
    public static CommandHost Start(ActorSystem system, IPAddress address, int port, string? token = null)
    {
        var listener = new TcpListener(address, port);
        listener.Start();
        return new CommandHost(listener, system, token);
    }

    /// <summary>The node is Up: every palette is served from now on (before, only <c>cluster show/join/tail</c> and <c>log</c>).</summary>
    public void Attach(JobsNode node) => _palettes.Attach(node);

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
                {
                    var (reply, items) = await AnswerAsync(line).ConfigureAwait(false);
                    if (items is null)
                    {
                        await writer.WriteLineAsync(reply.ToJsonString()).ConfigureAwait(false);
                        continue;
                    }
                    await StreamAsync(items, reader, writer).ConfigureAwait(false);
                    return;
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away or the node is stopping.
            }
        }
    }

    /// <summary>Writes a stream's items until it ends, the client sends a line or hangs up, or the node stops.</summary>
    private async Task StreamAsync(Func<CancellationToken, IAsyncEnumerable<JsonNode>> items, StreamReader reader, StreamWriter writer)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var watching = StopWhenTheClientSpeaksAsync(reader, stop);
        try
        {
            try
            {
                await foreach (var item in items(stop.Token).WithCancellation(stop.Token).ConfigureAwait(false))
                    await writer.WriteLineAsync(CommandProtocol.Item(item).ToJsonString()).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
            await writer.WriteLineAsync(CommandProtocol.End().ToJsonString()).ConfigureAwait(false);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await watching.ConfigureAwait(false);
        }
    }

    /// <summary>Any line from the client, or its hanging up, ends the stream it is reading.</summary>
    private static async Task StopWhenTheClientSpeaksAsync(StreamReader reader, CancellationTokenSource stop)
    {
        try
        {
            await reader.ReadLineAsync(stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        await stop.CancelAsync().ConfigureAwait(false);
    }

    private async Task<(JsonObject Reply, Func<CancellationToken, IAsyncEnumerable<JsonNode>>? Items)> AnswerAsync(string line)
    {
        var version = CommandProtocol.Version;
        try
        {
            var request = JsonNode.Parse(line) as JsonObject ?? throw new CommandException("a request must be a JSON object");
            version = request["v"]?.GetValue<int>() ?? 0;
            if (!CommandProtocol.Supported.Contains(version))
            {
                var asked = version;
                version = CommandProtocol.Version;
                throw new CommandException($"protocol version {asked} is not supported; this node speaks {string.Join(" and ", CommandProtocol.Supported)}");
            }
            if (_token is not null && !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                    Encoding.UTF8.GetBytes(request["token"]?.GetValue<string>() ?? ""), _token))
                throw new CommandException("refused: missing or wrong token (jobs --token or JOBS_AUTH_TOKEN)");
            var palette = request["palette"]?.GetValue<string>() ?? throw new CommandException("the request names no palette");
            var command = request["command"]?.GetValue<string>() ?? throw new CommandException("the request names no command");
            var args = request["args"]?.AsArray().Select(a => a!.GetValue<string>()).ToArray() ?? [];
            if (_palettes.Stream(palette, command, args) is { } items)
            {
                return version >= CommandProtocol.FirstStreamingVersion
                    ? (CommandProtocol.End(), items)
                    : (CommandProtocol.Error($"{palette} {command} streams, which needs protocol version {CommandProtocol.FirstStreamingVersion}", version), null);
            }
            return (CommandProtocol.Ok(await _palettes.RunAsync(palette, command, args).ConfigureAwait(false), version), null);
        }
        catch (Exception e) when (e is CommandException or JsonException or InvalidOperationException or FormatException)
        {
            return (CommandProtocol.Error(e.Message, version), null);
        }
        catch (Exception e)
        {
            _log.Warning("Command failed: {0}: {1}", e.GetType().Name, e.Message);
            return (CommandProtocol.Error($"{e.GetType().Name}: {e.Message}", version), null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
    }
}
