using System.Net;
using System.Net.NetworkInformation;

namespace Jobs.Api;

/// <summary>
/// What a web page the user happens to open must not be able to do to a node on their machine. A node with no token on
/// loopback answers whoever can reach it, and a browser can reach it: by DNS rebinding (a page whose name now points at
/// 127.0.0.1 reads and writes as if same-origin; its Host header still carries its own name, so only the names this node
/// serves are admitted) and by cross-site requests (a form or no-cors POST is sent without asking; its Origin or
/// Sec-Fetch-Site header says where it came from, so state-changing requests from elsewhere are refused). JSON bodies
/// must be <c>application/json</c> (<see cref="JsonBody"/>), which a page can only send cross-origin after a preflight
/// this node never grants. Every answer also carries headers that keep the dashboard from being framed or sniffed.
/// </summary>
public sealed class AccessPolicy
{
    /// <summary>
    /// The dashboard runs only its own files: no inline script, no handler attribute, no eval, no frame around it.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private readonly bool _anyHost;
    private readonly HashSet<string> _hosts;
    private readonly HashSet<string> _origins;
    private readonly long _maxBodySize;

    public AccessPolicy(IPEndPoint bound, JobsHttpSettings settings)
    {
        _anyHost = settings.AllowedHosts.Contains("*");
        _hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "[::1]" };
        if (bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any))
        {
            _hosts.Add(Dns.GetHostName());
            foreach (var address in MachineAddresses())
                _hosts.Add(HostName(address));
        }
        else
        {
            _hosts.Add(HostName(bound.Address));
        }
        foreach (var host in settings.AllowedHosts)
            _hosts.Add(host);
        _origins = new HashSet<string>(settings.AllowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);
        _maxBodySize = settings.MaxBodySize;
    }

    /// <summary>The names a Host header may carry (without port), for the banner and the 400's message.</summary>
    public IReadOnlyCollection<string> Hosts => _hosts;

    public Func<HttpContext, RequestDelegate, Task> Middleware() => async (http, next) =>
    {
        // Set as the answer starts, so an error answer (whose headers the exception handler clears) carries them too.
        http.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XFrameOptions = "DENY";
            // The dashboard is opened once with ?token=; no Referer may carry it to another site.
            headers["Referrer-Policy"] = "no-referrer";
            return Task.CompletedTask;
        }, http.Response);
        if (Refusal(http.Request) is { } refusal)
        {
            http.Response.StatusCode = refusal.Status;
            await http.Response.WriteAsJsonAsync(new { error = refusal.Message });
            return;
        }
        await next(http);
    };

    /// <summary>Why a request is refused (status and message), or null when it may go on.</summary>
    public (int Status, string Message)? Refusal(HttpRequest request)
    {
        var host = request.Host;
        if (host.HasValue && !_anyHost && !_hosts.Contains(host.Host))
            return (400, $"the Host header '{host.Value}' is not a name this node serves (DNS rebinding?); " +
                         "add it to jobs.http.allowed-hosts to serve it");
        // Kestrel enforces the limit as a body is read; an endpoint that reads none is held to it here, before it acts.
        if (request.ContentLength > _maxBodySize)
            return (413, $"the request body has {request.ContentLength} bytes; the limit is {_maxBodySize} (jobs.http.max-body-size)");
        if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method))
            return null;
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && _origins.Contains(origin.TrimEnd('/')))
            return null;
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Equals("cross-site", StringComparison.OrdinalIgnoreCase) || site.Equals("same-site", StringComparison.OrdinalIgnoreCase))
            return (403, $"refused: a {site} request from a web page (Sec-Fetch-Site) may not change anything here; " +
                         "add its origin to jobs.http.allowed-origins to allow it");
        if (origin.Length > 0 && !SameOrigin(origin, request))
            return (403, $"refused: a request from the page at '{origin}' may not change anything here (cross-origin); " +
                         "add it to jobs.http.allowed-origins to allow it");
        return null;
    }

    /// <summary>The Origin names this very node as the request reached it (scheme, host and port); "null" never does.</summary>
    private static bool SameOrigin(string origin, HttpRequest request)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            return false;
        var port = request.Host.Port ?? (request.IsHttps ? 443 : 80);
        return uri.Scheme.Equals(request.Scheme, StringComparison.OrdinalIgnoreCase) &&
               uri.Host.Trim('[', ']').Equals(request.Host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase) &&
               uri.Port == port;
    }

    private static string HostName(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    private static IEnumerable<IPAddress> MachineAddresses()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                // A Host header never carries an IPv6 scope ("%eth0").
                .Select(a => a.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? new IPAddress(a.Address.GetAddressBytes()) : a.Address)
                .ToArray();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }
}
