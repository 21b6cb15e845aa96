using System.Security.Cryptography;
using System.Text;

namespace Jobs.Api;

/// <summary>
/// Bearer-token access to the HTTP facade: every request but the health check and the dashboard's static files must
/// carry <c>Authorization: Bearer &lt;token&gt;</c>. The event stream alone also takes <c>?token=</c>, because a
/// browser's EventSource cannot set headers. Compared in constant time; the token is never logged.
/// </summary>
public static class TokenCheck
{
    public static Func<HttpContext, RequestDelegate, Task> Require(string token)
    {
        var expected = Encoding.UTF8.GetBytes(token);
        return async (http, next) =>
        {
            if (IsPublic(http.Request) || Matches(http.Request.Headers.Authorization.ToString(), expected) || QueryMatches(http.Request, expected))
            {
                await next(http);
                return;
            }
            http.Response.StatusCode = 401;
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await http.Response.WriteAsJsonAsync(new { error = "missing or wrong token: send Authorization: Bearer <token>" });
        };
    }

    /// <summary>The health check, and the dashboard's page and scripts: they hold no data, and the page asks for the token itself.</summary>
    private static bool IsPublic(HttpRequest request) =>
        request.Path.StartsWithSegments("/healthcheck") || request.Path == "/" || request.Path.StartsWithSegments(DashboardEndpoints.AssetPath);

    /// <summary>Equal in constant time, so the comparison does not leak how much of a guess was right.</summary>
    public static bool Matches(string header, byte[] expected)
    {
        const string scheme = "Bearer ";
        // The scheme is case-insensitive (RFC 7235): "bearer" and "BEARER" are the same.
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..]), expected);
    }

    private static bool QueryMatches(HttpRequest request, byte[] expected) =>
        request.Path.StartsWithSegments("/api/events") && request.Query["token"] is [{ } given] &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected);
}
