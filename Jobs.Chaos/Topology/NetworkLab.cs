using System.Diagnostics;

namespace Jobs.Chaos.Topology;

/// <summary>
/// Where the nodes live on the network. With network namespaces (root, and a kernel that allows them) each node gets a
/// namespace of its own, joined to a bridge in the host's namespace by a veth pair, so links between nodes can be cut
/// for real; otherwise every node shares loopback and a partition can only be imitated by freezing a process.
/// </summary>
public abstract class NetworkLab : IDisposable
{
    /// <summary>The address Redis and the harness are reached at by the nodes.</summary>
    public abstract string HostAddress { get; }

    public abstract bool CanPartition { get; }

    public abstract string Describe { get; }

    /// <summary>Gives <paramref name="node"/> its place; answers its address and the namespace to run it in (or null).</summary>
    public abstract (string Address, string? Namespace) Place(string node);

    /// <summary>Cuts every link between the two sides; each side still reaches Redis and the harness.</summary>
    public abstract void Cut(IReadOnlyCollection<string> side, IReadOnlyCollection<string> other);

    /// <summary>Takes a node's only link down: it reaches nothing, Redis and the harness included.</summary>
    public abstract void Isolate(string node);

    /// <summary>Restores every link cut or taken down.</summary>
    public abstract void HealAll();

    public abstract void Dispose();

    /// <summary>Namespaces when asked or when <c>auto</c> finds them allowed; the reason they are not used otherwise.</summary>
    public static NetworkLab Create(string mode, Action<string> say)
    {
        if (mode == "loopback")
            return new LoopbackLab("loopback (as asked)");
        var refused = NamespaceLab.Probe();
        if (refused is null)
            return new NamespaceLab();
        if (mode == "netns")
            throw new InvalidOperationException($"network namespaces are not available here: {refused}");
        say($"network namespaces refused ({refused}): every node on loopback, partitions imitated by SIGSTOP");
        return new LoopbackLab($"loopback (namespaces refused: {refused})");
    }
}

public sealed class LoopbackLab(string describe) : NetworkLab
{
    public override string HostAddress => "127.0.0.1";
    public override bool CanPartition => false;
    public override string Describe => describe;
    public override (string Address, string? Namespace) Place(string node) => ("127.0.0.1", null);
    public override void Cut(IReadOnlyCollection<string> side, IReadOnlyCollection<string> other) => throw new NotSupportedException("no partitions on loopback");
    public override void Isolate(string node) => throw new NotSupportedException("no partitions on loopback");

    public override void HealAll()
    {
    }

    public override void Dispose()
    {
    }
}

/// <summary>
/// A bridge <c>jc{pid}br</c> with the host at .1 of a private /24, and a namespace <c>jc{pid}-{node}</c> per node at .10
/// and up. A cut is a pair of blackhole routes (one in each namespace), so packets between the two sides vanish as on a
/// broken network, and connections already open hang until their peers give up; no netfilter is needed. Everything it
/// made is removed on dispose, and the leftovers of harnesses that died are removed on start.
/// </summary>
public sealed class NamespaceLab : NetworkLab
{
    private const string NamePrefix = "jc";
    private readonly string _run = NamePrefix + Environment.ProcessId;
    private readonly string _subnet;
    private readonly Dictionary<string, (string Address, string Namespace)> _nodes = new();
    private readonly HashSet<(string Namespace, string Address)> _blackholes = new();
    private readonly HashSet<string> _down = new();

    public NamespaceLab()
    {
        RemoveLeftovers();
        _subnet = FreeSubnet();
        Ip($"link add {Bridge} type bridge");
        Ip($"addr add {_subnet}.1/24 dev {Bridge}");
        Ip($"link set {Bridge} up");
    }

    private string Bridge => _run + "br";

    public override string HostAddress => _subnet + ".1";
    public override bool CanPartition => true;
    public override string Describe => $"network namespaces on bridge {Bridge} ({_subnet}.0/24)";

    public override (string Address, string? Namespace) Place(string node)
    {
        if (_nodes.TryGetValue(node, out var placed))
            return placed;
        var ns = $"{_run}-{node}";
        var address = $"{_subnet}.{10 + _nodes.Count}";
        var hostEnd = $"{_run}{node}";
        Ip($"netns add {ns}");
        Ip($"link add {hostEnd} type veth peer name eth0 netns {ns}");
        Ip($"link set {hostEnd} master {Bridge} up");
        Ip($"-n {ns} addr add {address}/24 dev eth0");
        Ip($"-n {ns} link set eth0 up");
        Ip($"-n {ns} link set lo up");
        _nodes[node] = (address, ns);
        return (address, ns);
    }

    public override void Cut(IReadOnlyCollection<string> side, IReadOnlyCollection<string> other)
    {
        foreach (var a in side)
        foreach (var b in other)
        {
            Blackhole(_nodes[a].Namespace, _nodes[b].Address);
            Blackhole(_nodes[b].Namespace, _nodes[a].Address);
        }
    }

    private void Blackhole(string ns, string address)
    {
        if (_blackholes.Add((ns, address)))
            Ip($"-n {ns} route add blackhole {address}/32");
    }

    public override void Isolate(string node)
    {
        var ns = _nodes[node].Namespace;
        if (_down.Add(ns))
            Ip($"-n {ns} link set eth0 down");
    }

    public override void HealAll()
    {
        foreach (var (ns, address) in _blackholes)
            Ip($"-n {ns} route del blackhole {address}/32");
        _blackholes.Clear();
        foreach (var ns in _down)
            Ip($"-n {ns} link set eth0 up");
        _down.Clear();
    }

    public override void Dispose()
    {
        foreach (var (_, ns) in _nodes.Values)
            TryIp($"netns del {ns}");
        TryIp($"link del {Bridge}");
    }

    /// <summary>Null when a namespace, a veth pair and a bridge can be made here; else what refused.</summary>
    public static string? Probe()
    {
        var name = $"{NamePrefix}{Environment.ProcessId}probe";
        try
        {
            Ip($"netns add {name}");
            try
            {
                Ip($"link add {name}a type veth peer name eth0 netns {name}");
                Ip($"link add {name}b type bridge");
                TryIp($"link del {name}b");
                TryIp($"link del {name}a");
                return null;
            }
            finally
            {
                TryIp($"netns del {name}");
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return e.Message;
        }
    }

    /// <summary>Namespaces and bridges of harnesses whose process is gone (killed before they could clean up).</summary>
    private static void RemoveLeftovers()
    {
        foreach (var ns in Run("ip", "netns list").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]))
            if (StaleOwner(ns) is not null)
                TryIp($"netns del {ns}");
        foreach (var link in Directory.EnumerateDirectories("/sys/class/net").Select(Path.GetFileName))
            if (link!.EndsWith("br", StringComparison.Ordinal) && StaleOwner(link[..^2]) is not null)
                TryIp($"link del {link}");
    }

    /// <summary>The pid in a name of ours (<c>jc{pid}-…</c>, <c>jc{pid}</c>) when that process no longer runs.</summary>
    private static int? StaleOwner(string name)
    {
        if (!name.StartsWith(NamePrefix, StringComparison.Ordinal))
            return null;
        var digits = new string(name[NamePrefix.Length..].TakeWhile(char.IsDigit).ToArray());
        if (digits.Length == 0 || !int.TryParse(digits, out var pid) || pid == Environment.ProcessId)
            return null;
        return Directory.Exists($"/proc/{pid}") ? null : pid;
    }

    /// <summary>A 10.x.y.0/24 no route of this machine uses yet.</summary>
    private static string FreeSubnet()
    {
        var routes = Run("ip", "-4 route show table all") + Run("ip", "-4 addr show");
        for (var i = 0; i < 250; i++)
        {
            var candidate = $"10.{200 + (Environment.ProcessId + i) % 50}.{(Environment.ProcessId / 50 + i) % 250}";
            if (!routes.Contains(candidate + ".", StringComparison.Ordinal))
                return candidate;
        }
        throw new InvalidOperationException("no free 10.x.y.0/24 for the chaos bridge");
    }

    private static void Ip(string arguments) => Run("ip", arguments);

    private static void TryIp(string arguments)
    {
        try
        {
            Run("ip", arguments);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static string Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        // ip says little: neither pipe fills while the other is read.
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments}: {error.Trim()}");
        return output;
    }
}
