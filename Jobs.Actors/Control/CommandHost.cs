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
/// <remarks>
/// A web page can make a browser send an HTTP request to this port, whose body then arrives as lines after the
/// request's header lines (a cross-protocol attack). So a line that is not a request of this protocol — an HTTP
/// request line or header among them — ends its connection: the first is answered (unless it looks like HTTP) and the
/// connection closed, so no later line of the same stream runs. Lines are read within
/// <c>jobs.commands.max-line-length</c> bytes, and at most <c>jobs.commands.max-connections</c> are served at once.
/// </remarks>
public sealed class CommandHost : IAsyncDisposable
{
    public const int DefaultPort = 9110;

    private static readonly string[] HttpMethods = ["GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "];

    private readonly TcpListener _listener;
    private readonly CommandPalettes _palettes;
    private readonly ILoggingAdapter _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly byte[]? _token;
    private readonly int _maxLineLength;
    private readonly int _maxConnections;
    private int _connections;

    private CommandHost(TcpListener listener, ActorSystem system, string? token)
    {
        _token = token is null ? null : Encoding.UTF8.GetBytes(token);
        _listener = listener;
        _palettes = new CommandPalettes(system);
        _log = Logging.GetLogger(system, "command-host");
        var config = system.Settings.Config;
        _maxLineLength = Math.Max(1024, config.GetInt("jobs.commands.max-line-length", 256 * 1024));
        _maxConnections = Math.Max(1, config.GetInt("jobs.commands.max-connections", 64));
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
            var reader = new LineReader(stream, _maxLineLength);
            await using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { AutoFlush = true, NewLine = "\n" };
            var counted = Interlocked.Increment(ref _connections) <= _maxConnections;
            try
            {
                if (!counted)
                {
                    await writer.WriteLineAsync(CommandProtocol.Error(
                        $"refused: this node already serves {_maxConnections} command connections (jobs.commands.max-connections)").ToJsonString()).ConfigureAwait(false);
                    return;
                }
                while (await reader.ReadLineAsync(_stop.Token).ConfigureAwait(false) is { } line)
                {
                    if (LooksLikeHttp(line))
                    {
                        _log.Warning("Closed a command connection from {0} that sent HTTP: a web page may be trying to reach the command host", client.Client.RemoteEndPoint);
                        return;
                    }
                    var (reply, items, close) = await AnswerAsync(line).ConfigureAwait(false);
                    if (items is null)
                    {
                        await writer.WriteLineAsync(reply.ToJsonString()).ConfigureAwait(false);
                        if (close)
                            return;
                        continue;
                    }
                    await StreamAsync(items, reader, writer).ConfigureAwait(false);
                    return;
                }
            }
            catch (LineTooLongException)
            {
                await TryWriteAsync(writer, CommandProtocol.Error($"refused: a request line over {_maxLineLength} bytes (jobs.commands.max-line-length)")).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // The client went away or the node is stopping.
            }
            finally
            {
                Interlocked.Decrement(ref _connections);
            }
        }
    }

    private static async Task TryWriteAsync(StreamWriter writer, JsonObject reply)
    {
        try
        {
            await writer.WriteLineAsync(reply.ToJsonString()).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
        }
    }

    /// <summary>An HTTP request line (or a Host header): what a browser sends when a page aims a request at this port.</summary>
    public static bool LooksLikeHttp(string line) =>
        HttpMethods.Any(m => line.StartsWith(m, StringComparison.OrdinalIgnoreCase)) || line.StartsWith("Host:", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes a stream's items until it ends, the client sends a line or hangs up, or the node stops.</summary>
    private async Task StreamAsync(Func<CancellationToken, IAsyncEnumerable<JsonNode>> items, LineReader reader, StreamWriter writer)
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
    private static async Task StopWhenTheClientSpeaksAsync(LineReader reader, CancellationTokenSource stop)
    {
        try
        {
            await reader.ReadLineAsync(stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or LineTooLongException)
        {
        }
        await stop.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The reply to one line, the items when it starts a stream, and whether the connection closes after the reply:
    /// a line that is not a well-formed request of this protocol closes it; a request the palettes refuse does not.
    /// </summary>
    private async Task<(JsonObject Reply, Func<CancellationToken, IAsyncEnumerable<JsonNode>>? Items, bool Close)> AnswerAsync(string line)
    {
        var version = CommandProtocol.Version;
        string palette, command;
        string[] args;
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
            palette = request["palette"]?.GetValue<string>() ?? throw new CommandException("the request names no palette");
            command = request["command"]?.GetValue<string>() ?? throw new CommandException("the request names no command");
            args = request["args"]?.AsArray().Select(a => a!.GetValue<string>()).ToArray() ?? [];
            if (_token is not null && !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                    Encoding.UTF8.GetBytes(request["token"]?.GetValue<string>() ?? ""), _token))
                return (CommandProtocol.Error("refused: missing or wrong token (jobs --token or JOBS_AUTH_TOKEN)", version), null, false);
        }
        catch (Exception e) when (e is CommandException or JsonException or InvalidOperationException or FormatException or NullReferenceException)
        {
            return (CommandProtocol.Error($"not a request of this protocol, so the connection closes: {e.Message}", version), null, true);
        }
        try
        {
            if (_palettes.Stream(palette, command, args) is { } items)
            {
                return version >= CommandProtocol.FirstStreamingVersion
                    ? (CommandProtocol.End(), items, false)
                    : (CommandProtocol.Error($"{palette} {command} streams, which needs protocol version {CommandProtocol.FirstStreamingVersion}", version), null, false);
            }
            return (CommandProtocol.Ok(await _palettes.RunAsync(palette, command, args).ConfigureAwait(false), version), null, false);
        }
        catch (Exception e) when (e is CommandException or JsonException or InvalidOperationException or FormatException)
        {
            return (CommandProtocol.Error(e.Message, version), null, false);
        }
        catch (Exception e)
        {
            _log.Warning("Command failed: {0}: {1}", e.GetType().Name, e.Message);
            return (CommandProtocol.Error($"{e.GetType().Name}: {e.Message}", version), null, false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
    }
}
