using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace Jobs.Tests.Infrastructure;

/// <summary>
/// A real redis-server on a free loopback port with its own temp dir and AOF on, stopped by PID. It can be
/// killed and started again on the same port and dir, which is how outage tests take Redis away.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private readonly string _appendFsync;
    private readonly string? _password;
    private Process? _process;

    public RedisServer() : this("always", null)
    {
    }

    /// <summary>A server with its own fsync policy: "everysec" as in production, for throughput figures.</summary>
    public static RedisServer WithAppendFsync(string appendFsync) => new(appendFsync, null);

    /// <summary>A server that requires <paramref name="password"/>; <see cref="ConnectionString"/> carries it.</summary>
    public static RedisServer WithPassword(string password) => new("always", password);

    /// <summary><paramref name="appendFsync"/>: "always" makes every acknowledged write survive a kill, so tests are exact.</summary>
    private RedisServer(string appendFsync, string? password)
    {
        _appendFsync = appendFsync;
        _password = password;
        Port = FreePort.Next();
        Directory = Path.Combine(Path.GetTempPath(), "jobs-redis-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Directory);
        Start();
    }

    public int Port { get; }
    public string Directory { get; }
    public string ConnectionString => _password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={_password}";
    public bool IsRunning => _process is { HasExited: false };

    public void Start()
    {
        if (IsRunning)
            return;
        var executable = File.Exists("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "redis-server";
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", Directory, "--save", "", "--appendonly", "yes", "--appendfsync", _appendFsync })
            info.ArgumentList.Add(arg);
        if (_password is not null)
        {
            info.ArgumentList.Add("--requirepass");
            info.ArgumentList.Add(_password);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilAnswering(TimeSpan.FromSeconds(20));
    }

    /// <summary>SIGKILL: Redis is gone at once, as when its host dies.</summary>
    public void Kill()
    {
        if (_process is null)
            return;
        if (!_process.HasExited)
            _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    private void WaitUntilAnswering(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"redis-server exited with {_process.ExitCode}");
            try
            {
                using var client = new TcpClient("127.0.0.1", Port);
                using var stream = client.GetStream();
                var ping = _password is null ? "PING\r\n" : $"AUTH {_password}\r\nPING\r\n";
                stream.Write(Encoding.ASCII.GetBytes(ping));
                var answer = new StringBuilder();
                var buffer = new byte[64];
                while (answer.ToString().Split("\r\n").Length <= (_password is null ? 1 : 2))
                {
                    var read = stream.Read(buffer);
                    if (read == 0)
                        break;
                    answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
                }
                if (answer.ToString().Contains("+PONG", StringComparison.Ordinal))
                    return;
            }
            catch (SocketException)
            {
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException($"redis-server did not answer on port {Port} within {timeout}");
    }

    public void Dispose()
    {
        Kill();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One redis-server shared by the specs of a collection.</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "redis";
}

/// <summary>A redis-server that requires a password, for the specs proving the password passes through.</summary>
public sealed class PasswordRedisServer : IDisposable
{
    public RedisServer Server { get; } = RedisServer.WithPassword("s3cret-" + Guid.NewGuid().ToString("N")[..6]);

    public void Dispose() => Server.Dispose();
}
