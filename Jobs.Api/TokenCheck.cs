using System.Security.Cryptography;
using System.Text;

namespace Jobs.Api;

/// <summary>
/// Bearer-token access to the HTTP facade: every request but the health check must carry
/// <c>Authorization: Bearer &lt;token&gt;</c>. Compared in constant time; the token is never logged.
/// </summary>
public static class TokenCheck
{
    public static Func<HttpContext, RequestDelegate, Task> Require(string token)
    {
        var expected = Encoding.UTF8.GetBytes(token);
        return async (http, next) =>
        {
            if (http.Request.Path.StartsWithSegments("/healthcheck") || Matches(http.Request.Headers.Authorization.ToString(), expected))
            {
                await next(http);
                return;
            }
            http.Response.StatusCode = 401;
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await http.Response.WriteAsJsonAsync(new { error = "missing or wrong token: send Authorization: Bearer <token>" });
        };
    }

    /// <summary>Equal in constant time, so the comparison does not leak how much of a guess was right.</summary>
    public static bool Matches(string header, byte[] expected)
    {
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.Ordinal))
            return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[scheme.Length..]), expected);
    }
}
