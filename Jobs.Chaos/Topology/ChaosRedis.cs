using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Jobs.Chaos.Topology;

/// <summary>
/// The cluster's journal: a redis-server of the harness's own with AOF on, listening on loopback (for the harness) and
/// on the address the nodes reach it at. It can be killed and started again on the same port and files (a crash of
/// Redis), and paused with <c>CLIENT PAUSE</c>.
/// </summary>
public sealed class ChaosRedis : IDisposable
{
    private readonly string _bind;
    private readonly string _appendFsync;
    private readonly string _log;
    private Process? _process;

    public ChaosRedis(string directory, string nodeAddress, int port, string appendFsync)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory);
        _bind = nodeAddress == "127.0.0.1" ? nodeAddress : $"127.0.0.1 {nodeAddress}";
        _appendFsync = appendFsync;
        _log = Path.Combine(directory, "redis.log");
        Port = port;
        NodeConnection = $"{nodeAddress}:{port}";
    }

    public string Directory { get; }
    public int Port { get; }
    public string AppendFsync => _appendFsync;

    /// <summary>What nodes are given as <c>--redis</c>.</summary>
    public string NodeConnection { get; }

    /// <summary>What the harness itself connects to.</summary>
    public string LocalConnection => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--port", Port.ToString(), "--bind", _bind, "--protected-mode", "no", "--dir", Directory, "--logfile", _log,
                     "--save", "", "--appendonly", "yes", "--appendfsync", _appendFsync,
                 })
            info.ArgumentList.Add(arg);
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        // After a crash Redis replays its AOF first, answering LOADING meanwhile.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await CommandAsync("PING") != "+PONG")
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}; see {_log}");
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"redis-server did not answer on port {Port}; see {_log}");
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILL, as when Redis crashes: no last fsync.</summary>
    public async Task KillAsync()
    {
        if (_process is null)
            return;
        if (!_process.HasExited)
            _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    /// <summary>Every client's commands wait for <paramref name="duration"/>, the harness's own included.</summary>
    public async Task PauseAsync(TimeSpan duration)
    {
        var answer = await CommandAsync($"CLIENT PAUSE {(long)duration.TotalMilliseconds} ALL");
        if (answer != "+OK")
            throw new InvalidOperationException($"CLIENT PAUSE answered {answer}");
    }

    /// <summary>One inline command on a connection of its own; the first line of the answer, or null if none came.</summary>
    private async Task<string?> CommandAsync(string command)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"), timeout.Token);
            var buffer = new byte[256];
            var answer = new StringBuilder();
            while (!answer.ToString().Contains("\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                    break;
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            var text = answer.ToString();
            var end = text.IndexOf("\r\n", StringComparison.Ordinal);
            return end < 0 ? null : text[..end];
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
            _process.Kill();
        _process?.WaitForExit();
        _process?.Dispose();
    }
}
