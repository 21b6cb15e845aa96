using System.Net;
using System.Net.Sockets;

namespace Jobs.Tests.Infrastructure;

public static class FreePort
{
    private const int Lowest = 15000;

    private static readonly HashSet<int> HandedOut = new();

    // Below the OS's ephemeral range: a port from that range (what binding port 0 gives) may be taken, between being
    // handed out and the node binding it seconds later, as the local port of any outgoing connection.
    private static readonly int Highest = EphemeralRangeStart() - 1;

    private static int _next = Lowest + Random.Shared.Next(Highest - Lowest);

    /// <summary>
    /// A loopback port below the ephemeral range that could be bound a moment ago and was never handed out before in
    /// this test run.
    /// </summary>
    public static int Next()
    {
        lock (HandedOut)
        {
            for (var tried = 0; tried <= Highest - Lowest; tried++)
            {
                var port = _next;
                _next = port >= Highest ? Lowest : port + 1;
                if (!HandedOut.Contains(port) && CanBind(port))
                {
                    HandedOut.Add(port);
                    return port;
                }
            }
            throw new InvalidOperationException($"no free loopback port between {Lowest} and {Highest}");
        }
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Linux's <c>ip_local_port_range</c>; elsewhere the IANA dynamic range's start.</summary>
    private static int EphemeralRangeStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var start = int.Parse(range[0]);
            return start > Lowest + 1000 ? start : 49152;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 49152;
        }
    }
}
