using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;

namespace Jobs.Api;

/// <summary>Reads a JSON request body within the size limit, turning parser errors into 400s with their position.</summary>
public static class JsonBody
{
    /// <summary>The parsed body, or null when the request has none.</summary>
    public static async Task<JsonElement?> ReadAsync(HttpContext http)
    {
        var limit = http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
        if (http.Request.ContentLength is { } length && limit is { } max && length > max)
            throw new PayloadTooLargeException(length, max);
        if (http.Request.ContentLength == 0)
            return null;
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        if (buffer.Length == 0)
            return null;
        try
        {
            using var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length));
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"malformed JSON: {e.Message}");
        }
    }
}

public sealed class PayloadTooLargeException(long length, long limit)
    : Exception($"the request body has {length} bytes; the limit is {limit} (jobs.http.max-body-size)");
