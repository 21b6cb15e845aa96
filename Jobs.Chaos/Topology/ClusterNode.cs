using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Jobs.Chaos.Topology;

/// <summary>
/// One node of the cluster under test as an OS process (<c>dotnet Jobs.Node.dll …</c>, run inside its network
/// namespace when it has one), kept alive as a service manager keeps a service: whenever the process ends — killed,
/// downed, crashed — it is started again with the same arguments after a short delay.
/// </summary>
public sealed class ClusterNode
{
    private readonly string _dll;
    private readonly IReadOnlyList<string> _args;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly StreamWriter _log;
    private readonly Timeline _timeline;
    private readonly Random _restartDelays;
    private Process? _process;

    public ClusterNode(string name, string kind, string dll, string address, int port, string? ns, IReadOnlyList<string> args,
        IReadOnlyDictionary<string, string> environment, string logPath, Timeline timeline, int seed)
    {
        Name = name;
        Kind = kind;
        Address = address;
        Port = port;
        Namespace = ns;
        _dll = dll;
        _args = args;
        _environment = environment;
        _timeline = timeline;
        _restartDelays = new Random(seed);
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        WorkingDirectory = Path.Combine(Path.GetDirectoryName(logPath)!, name);
        Directory.CreateDirectory(WorkingDirectory);
    }

    public string Name { get; }

    /// <summary>The node's own directory (its ./data: the monitor's index, for the api node); kept across restarts.</summary>
    public string WorkingDirectory { get; }

    /// <summary>seed, api or worker.</summary>
    public string Kind { get; }

    public string Address { get; }
    public int Port { get; }
    public string? Namespace { get; }
    public string AkkaAddress => $"akka.tcp://jobs@{Address}:{Port}";
    public int Incarnation { get; private set; }
    public bool Frozen { get; private set; }

    /// <summary>
    /// When this incarnation saw itself Up (it prints its banner once it is), or null while it joins. Workers in the
    /// order of this time are the cluster's members by age, so the oldest one hosts the shard coordinators.
    /// </summary>
    public DateTimeOffset? UpSince { get; private set; }
    public int? Pid => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>A supervisor restarts a failed service after a pause (systemd's RestartSec); here 1 to 3 s.</summary>
    private TimeSpan RestartDelay() => TimeSpan.FromSeconds(1 + 2 * _restartDelays.NextDouble());

    public void Start()
    {
        var info = new ProcessStartInfo(Namespace is null ? "dotnet" : "ip")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
        };
        // `ip netns exec` execs the command in place, so the process id is the node's own.
        if (Namespace is not null)
            foreach (var arg in new[] { "netns", "exec", Namespace, "dotnet" })
                info.ArgumentList.Add(arg);
        info.ArgumentList.Add(_dll);
        foreach (var arg in _args)
            info.ArgumentList.Add(arg);
        foreach (var (key, value) in _environment)
            info.Environment[key] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {Name}");
        Incarnation++;
        var incarnation = Incarnation;
        Write($"==== {Name} incarnation {incarnation}, pid {process.Id}: {string.Join(' ', info.ArgumentList)}");
        UpSince = null;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            if (e.Data.StartsWith(BannerClusterLine, StringComparison.Ordinal) && incarnation == Incarnation)
                UpSince = DateTimeOffset.UtcNow;
            Write(e.Data);
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Write("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Frozen = false;
        _process = process;
        _timeline.Note(Name, $"started (incarnation {incarnation}, pid {process.Id})");
    }

    /// <summary>The banner's line naming the node's cluster address, printed once the node is Up.</summary>
    private const string BannerClusterLine = "  cluster:";

    private void Write(string line)
    {
        lock (_log)
            _log.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {line}");
    }

    /// <summary>Restarts the node whenever it ends, until <paramref name="stop"/>.</summary>
    public async Task SuperviseAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var process = _process;
            if (process is null)
                return;
            try
            {
                await process.WaitForExitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            UpSince = null;
            _timeline.Note(Name, $"exited with {process.ExitCode} (incarnation {Incarnation})");
            try
            {
                await Task.Delay(RestartDelay(), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Start();
        }
    }

    /// <summary>SIGKILL: no chance to flush, leave the cluster or hand off shards.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            if (Frozen)
                Signal(process.Id, SigCont);
            process.Kill();
        }
    }

    /// <summary>SIGSTOP: alive but silent, which its peers cannot tell from a partition that cuts it off alone.</summary>
    public void Freeze()
    {
        if (_process is { HasExited: false } process)
        {
            Signal(process.Id, SigStop);
            Frozen = true;
        }
    }

    /// <summary>SIGCONT: it runs on, unaware of what the others decided meanwhile.</summary>
    public void Resume()
    {
        if (_process is { HasExited: false } process && Frozen)
            Signal(process.Id, SigCont);
        Frozen = false;
    }

    /// <summary>For the end of the run: resumed if frozen, then SIGKILL, without a restart.</summary>
    public async Task StopAsync()
    {
        if (_process is not { } process)
            return;
        Resume();
        if (!process.HasExited)
            process.Kill();
        await process.WaitForExitAsync();
    }

    public void CloseLog()
    {
        lock (_log)
            _log.Dispose();
    }

    private const int SigCont = 18;
    private const int SigStop = 19;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    /// <summary>A process that ended a moment ago (ESRCH) has nothing left to signal; that is not an error here.</summary>
    private static void Signal(int pid, int signal) => _ = kill(pid, signal);
}
