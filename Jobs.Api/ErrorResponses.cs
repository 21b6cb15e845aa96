using Akka.Actor;
using Jobs.Actors.Tasks;
using Microsoft.AspNetCore.Diagnostics;

namespace Jobs.Api;

/// <summary>
/// Maps what can go wrong with a request to a precise status and message: the caller learns what to fix, and
/// the node never goes down because of a request.
/// </summary>
public sealed class ErrorResponses(ILogger<ErrorResponses> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var (status, body) = exception switch
        {
            BadRequestException e => (400, (object)new { error = e.Message, parameter = e.Parameter }),
            Jobs.Actors.Beat.InvalidEntryException e => (400, new { error = e.Field.Length > 0 ? $"{e.Field}: {e.Message}" : e.Message, field = e.Field }),
            Jobs.Actors.Beat.EntryRejectedException { NotFound: true } e => (404, new { error = e.Message, field = e.Field }),
            Jobs.Actors.Beat.EntryRejectedException e => (400, new { error = $"{e.Field}: {e.Message}", field = e.Field }),
            UnknownTaskException e => (404, new { error = e.Message, task = e.TaskName }),
            Jobs.Actors.Control.UnknownNameException e => (404, new { error = e.Message }),
            Jobs.Actors.Control.NoReplyException e => (504, new { error = e.Message }),
            Jobs.Actors.Control.CommandException e => (400, new { error = e.Message }),
            PayloadTooLargeException e => (413, new { error = e.Message }),
            UnsupportedMediaTypeException e => (415, new { error = e.Message }),
            TooManyRequestsException e => (429, new { error = e.Message }),
            BadHttpRequestException { StatusCode: 413 } e => (413, new { error = e.Message }),
            BadHttpRequestException e => (e.StatusCode, new { error = e.Message }),
            TaskTooLargeException e => (413, new { error = e.Message }),
            // The task id makes the one safe retry possible: the same task_id again (a submission is idempotent by id).
            TaskNotAcceptedException e => (503, Unavailable(e.Message, e.TaskId, "not-accepted")),
            TaskOutcomeUnknownException e => (503, Unavailable(e.Message, e.TaskId, "unknown")),
            TaskUnavailableException e => (503, Unavailable(e.Message, e.TaskId, null)),
            AskTimeoutException => (503, new { error = "no answer in time: the journal or the cluster is unavailable or overloaded" }),
            OperationCanceledException when http.RequestAborted.IsCancellationRequested => (499, new { error = "the client closed the request" }),
            _ => (500, new { error = $"{exception.GetType().Name}: {exception.Message}" }),
        };
        if (status >= 500)
            log.LogError(exception, "{Method} {Path} failed with {Status}", http.Request.Method, http.Request.Path, status);
        http.Response.StatusCode = status;
        await http.Response.WriteAsJsonAsync(body, cancellationToken);
        return true;
    }

    private static Dictionary<string, string> Unavailable(string error, string taskId, string? outcome)
    {
        var body = new Dictionary<string, string> { ["error"] = error, ["task-id"] = taskId };
        if (outcome is not null)
            body["outcome"] = outcome;
        return body;
    }
}
