using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Jobs.Bench;

/// <summary>
/// A redis-server of the benchmark's own, on a free loopback port with AOF on, stopped by PID. <c>everysec</c> (Redis's
/// default and ours) fsyncs once a second; <c>always</c> fsyncs before every reply.
/// </summary>
public sealed class RedisProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    public RedisProcess(string appendFsync = "everysec")
    {
        if (appendFsync is not ("everysec" or "always"))
            throw new ArgumentException($"appendfsync must be everysec or always, not '{appendFsync}'", nameof(appendFsync));
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        _dir = Directory.CreateTempSubdirectory("jobs-bench-redis-").FullName;
        var info = new ProcessStartInfo("redis-server") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _dir, "--save", "", "--appendonly", "yes", "--appendfsync", appendFsync })
            info.ArgumentList.Add(arg);
        _process = Process.Start(info)!;
        _process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    public int Port { get; }

    public int Pid => _process.Id;

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Where this server keeps its append-only file.</summary>
    public string DataDirectory => _dir;

    /// <summary>redis-benchmark's pipelined RPUSH on this server: the raw rate the journal is compared with.</summary>
    public double PipelinedRpushPerSecond(int requests = 500_000)
    {
        var info = new ProcessStartInfo("redis-benchmark") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { "-p", Port.ToString(), "-t", "rpush", "-P", "32", "-n", requests.ToString(), "-q" })
            info.ArgumentList.Add(arg);
        using var benchmark = Process.Start(info)!;
        var output = benchmark.StandardOutput.ReadToEnd();
        benchmark.WaitForExit();
        // "RPUSH: 912408.75 requests per second, p50=..."; the line may be preceded by progress output.
        var line = output.Split('\r', '\n').Last(l => l.StartsWith("RPUSH:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// INFO commandstats now, without the commands a reading itself issues (INFO, and W6's DBSIZE, BGREWRITEAOF and
    /// SCAN, which the journal never uses; W6's LLEN and ZCARD of sharding's keys, a few hundred a reading, do count).
    /// </summary>
    public IReadOnlyDictionary<string, RedisCommand> CommandStats() =>
        RedisCommand.Parse(Cli("INFO", "commandstats"))
            .Where(c => c.Key is not ("info" or "ping" or "command" or "command|docs" or "dbsize" or "bgrewriteaof" or "scan"))
            .ToDictionary(c => c.Key, c => c.Value);

    /// <summary>One redis-cli call on this server; its standard output.</summary>
    public string Cli(params string[] args) => CliWithInput(null, args);

    /// <summary>redis-cli with commands on its standard input, one a line (their replies, one a line).</summary>
    public string CliWithInput(string? input, params string[] args)
    {
        var info = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardInput = input is not null, UseShellExecute = false };
        foreach (var arg in new[] { "-p", Port.ToString() }.Concat(args))
            info.ArgumentList.Add(arg);
        using var cli = Process.Start(info)!;
        if (input is not null)
        {
            cli.StandardInput.Write(input);
            cli.StandardInput.Close();
        }
        var output = cli.StandardOutput.ReadToEnd();
        cli.WaitForExit();
        return output;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill();
        _process.WaitForExit();
        Directory.Delete(_dir, recursive: true);
    }
}
