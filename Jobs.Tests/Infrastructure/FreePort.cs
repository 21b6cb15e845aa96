using System.Net;
using System.Net.Sockets;

namespace Jobs.Tests.Infrastructure;

public static class FreePort
{
    private static readonly HashSet<int> HandedOut = new();

    /// <summary>
    /// A loopback port that was free a moment ago and was never handed out before in this test run: the OS may offer
    /// the same ephemeral port to two calls in a row (seen: a node's HTTP and command ports the same).
    /// </summary>
    public static int Next()
    {
        lock (HandedOut)
        {
            while (true)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                if (HandedOut.Add(port))
                    return port;
            }
        }
    }
}
