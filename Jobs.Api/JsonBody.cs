using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Jobs.Api;

/// <summary>Reads a JSON request body within the size limit, turning parser errors into 400s with their position.</summary>
public static class JsonBody
{
    /// <summary>
    /// The parsed body, or null when the request has none. It is read into one buffer of its own length and parsed
    /// into arrays of its own, not rented ones: a 10 MB canvas would otherwise leave tens of MB in the shared pool.
    /// </summary>
    public static async Task<JsonElement?> ReadAsync(HttpContext http)
    {
        var limit = http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (http.Request.ContentLength is { } length && limit is { } max && length > max)
            throw new PayloadTooLargeException(length, max);
        if (http.Request.ContentLength == 0 || http.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false })
            return null;
        // A page may send text/plain or a form anywhere without asking; application/json it may send only after a
        // preflight this node never grants (AccessPolicy). A browser marks every request it sends (Origin on a POST,
        // Sec-Fetch-Site), so clients without those (curl -d, as Flower's examples post JSON) are read as JSON.
        if (!http.Request.HasJsonContentType() && FromBrowser(http.Request))
            throw new UnsupportedMediaTypeException(http.Request.ContentType);
        using var buffer = new MemoryStream(http.Request.ContentLength is { } known and <= int.MaxValue ? (int)known : 0);
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        if (buffer.Length == 0)
            return null;
        return Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    private static bool FromBrowser(HttpRequest request) =>
        request.Headers.Origin.Count > 0 || request.Headers.ContainsKey("Sec-Fetch-Site");

    private static JsonElement Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            var value = JsonElement.ParseValue(ref reader);
            // One value and nothing after it, as JsonDocument.Parse would insist.
            reader.Read();
            return value;
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"malformed JSON: {e.Message}");
        }
    }
}

public sealed class PayloadTooLargeException(long length, long limit)
    : Exception($"the request body has {length} bytes; the limit is {limit} (jobs.http.max-body-size)");

public sealed class UnsupportedMediaTypeException(string? contentType)
    : Exception($"a JSON body sent from a web page must be sent as Content-Type: application/json, not {(string.IsNullOrEmpty(contentType) ? "without one" : $"'{contentType}'")} (curl --json '…')");
