using System.Reflection;
using System.Security.Cryptography;

namespace Jobs.Api;

/// <summary>
/// The dashboard: plain HTML, CSS and JavaScript embedded in this assembly (so it is served the same whatever the
/// working directory), the page at <c>/</c> and its files under <c>/dashboard/</c>.
/// </summary>
public static class DashboardEndpoints
{
    public const string AssetPath = "/dashboard";
    private const string ResourcePrefix = "dashboard/";

    private static readonly IReadOnlyDictionary<string, Asset> Assets = Load();

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Serve(http, "index.html")).ExcludeFromDescription();
        app.MapGet(AssetPath + "/{file}", (string file, HttpContext http) => Serve(http, file)).ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(HttpContext http, string file)
    {
        if (!Assets.TryGetValue(file, out var asset))
            return Results.NotFound(new { error = $"no dashboard file '{file}'" });
        // Revalidated on every load, so a node upgraded in place never serves a stale script from the browser's cache.
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch == asset.ETag)
            return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    private static Dictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            assets[name[ResourcePrefix.Length..]] = new Asset(bytes, ContentType(name), $"\"{Convert.ToHexString(SHA256.HashData(bytes))[..16]}\"");
        }
        return assets;
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".png" => "image/png",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
