using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Jobs.Api;

/// <summary>Reads a JSON request body within the size limit, turning parser errors into 400s with their position.</summary>
public static class JsonBody
{
    /// <summary>The parsed body, or null when the request has none.</summary>
    public static async Task<JsonElement?> ReadAsync(HttpContext http)
    {
        using var document = await ReadDocumentAsync(http);
        return document?.RootElement.Clone();
    }

    /// <summary>
    /// The parsed body as a document the caller disposes, or null when the request has none: a 10 MB canvas is read
    /// into one buffer of its own length and parsed once, not copied again into a clone.
    /// </summary>
    public static async Task<JsonDocument?> ReadDocumentAsync(HttpContext http)
    {
        var limit = http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (http.Request.ContentLength is { } length && limit is { } max && length > max)
            throw new PayloadTooLargeException(length, max);
        if (http.Request.ContentLength == 0)
            return null;
        using var buffer = new MemoryStream(http.Request.ContentLength is { } known and <= int.MaxValue ? (int)known : 0);
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        if (buffer.Length == 0)
            return null;
        try
        {
            return JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"malformed JSON: {e.Message}");
        }
    }
}

public sealed class PayloadTooLargeException(long length, long limit)
    : Exception($"the request body has {length} bytes; the limit is {limit} (jobs.http.max-body-size)");
