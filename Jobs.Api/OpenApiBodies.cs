using System.Text.Json;
using System.Text.Json.Serialization;

namespace Jobs.Api;

// The shapes of the JSON bodies the endpoints read by hand (JsonBody, ApplyRequest, CelerySignatures), declared so
// the OpenAPI document describes them: for clients, and for the fuzzer that generates requests from the document.

/// <summary>Flower's apply body: <c>args</c>, <c>kwargs</c> and the <c>apply_async</c> options.</summary>
public sealed record ApplyBody(
    [property: JsonPropertyName("args")] JsonElement[]? Args,
    [property: JsonPropertyName("kwargs")] Dictionary<string, JsonElement>? Kwargs,
    [property: JsonPropertyName("countdown")] double? Countdown,
    [property: JsonPropertyName("eta")] DateTimeOffset? Eta,
    [property: JsonPropertyName("expires")] double? Expires,
    [property: JsonPropertyName("queue")] string? Queue,
    [property: JsonPropertyName("task_id")] string? TaskId,
    [property: JsonPropertyName("result_expires")] double? ResultExpires,
    [property: JsonPropertyName("ignore_result")] bool? IgnoreResult);

/// <summary>Celery's signature JSON (<c>Signature.from_dict</c>); chains and groups put members in <c>kwargs.tasks</c>.</summary>
public sealed record SignatureBody(
    [property: JsonPropertyName("task")] string? Task,
    [property: JsonPropertyName("args")] JsonElement[]? Args,
    [property: JsonPropertyName("kwargs")] Dictionary<string, JsonElement>? Kwargs,
    [property: JsonPropertyName("options")] SignatureOptionsBody? Options,
    [property: JsonPropertyName("subtask_type")] string? SubtaskType,
    [property: JsonPropertyName("immutable")] bool? Immutable);

public sealed record SignatureOptionsBody(
    [property: JsonPropertyName("task_id")] string? TaskId,
    [property: JsonPropertyName("queue")] string? Queue,
    [property: JsonPropertyName("countdown")] double? Countdown,
    [property: JsonPropertyName("link")] SignatureBody[]? Link,
    [property: JsonPropertyName("link_error")] SignatureBody[]? LinkError);

/// <summary>The control endpoints' parameters, as a JSON object, a form or the query string.</summary>
public sealed record TimeLimitBody(
    [property: JsonPropertyName("soft")] double? Soft,
    [property: JsonPropertyName("hard")] double? Hard,
    [property: JsonPropertyName("workername")] string? Workername);

public sealed record RateLimitBody(
    [property: JsonPropertyName("ratelimit")] string? Ratelimit,
    [property: JsonPropertyName("workername")] string? Workername);

public sealed record PoolBody([property: JsonPropertyName("n")] int? N);

public sealed record ConsumerBody([property: JsonPropertyName("queue")] string? Queue);

public static class OpenApiBodies
{
    public const string Json = "application/json";
    public const string Form = "application/x-www-form-urlencoded";

    /// <summary>Documents a JSON body of <typeparamref name="T"/>, optional as for every endpoint here.</summary>
    public static RouteHandlerBuilder AcceptsJson<T>(this RouteHandlerBuilder builder) => builder.Documents<T>(Json);

    /// <summary>Documents the parameters of a control endpoint, as JSON or a form.</summary>
    public static RouteHandlerBuilder AcceptsParameters<T>(this RouteHandlerBuilder builder) => builder.Documents<T>(Json, Form);

    /// <summary>
    /// Only the document: <c>Accepts&lt;T&gt;</c> would also make routing refuse other content types with an empty 415,
    /// where the endpoint answers them itself, saying what to send.
    /// </summary>
    private static RouteHandlerBuilder Documents<T>(this RouteHandlerBuilder builder, params string[] contentTypes) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, cancel) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancel);
            operation.RequestBody = new Microsoft.OpenApi.OpenApiRequestBody
            {
                Required = false,
                Content = contentTypes.ToDictionary(t => t, _ => new Microsoft.OpenApi.OpenApiMediaType { Schema = schema }),
            };
        });
}
