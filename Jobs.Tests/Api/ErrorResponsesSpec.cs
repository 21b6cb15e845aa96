using System.Text.Json.Nodes;
using Jobs.Actors.Tasks;
using Jobs.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Jobs.Tests.Api;

/// <summary>The bodies of 503 answers: what happened to the submission, and under which id to send it again.</summary>
public sealed class ErrorResponsesSpec
{
    private static async Task<(int Status, JsonNode Body)> AnswerAsync(Exception exception)
    {
        var http = new DefaultHttpContext { Response = { Body = new MemoryStream() } };
        Assert.True(await new ErrorResponses(NullLogger<ErrorResponses>.Instance).TryHandleAsync(http, exception, CancellationToken.None));
        http.Response.Body.Position = 0;
        return (http.Response.StatusCode, JsonNode.Parse(http.Response.Body)!);
    }

    [Fact]
    public async Task A_submission_of_unknown_outcome_is_a_503_that_says_so_and_names_the_task()
    {
        var (status, body) = await AnswerAsync(new TaskOutcomeUnknownException("t-1", "task t-1 may or may not have been accepted: the journal timed out"));
        Assert.Equal(503, status);
        Assert.Equal("t-1", body["task-id"]!.GetValue<string>());
        Assert.Equal("unknown", body["outcome"]!.GetValue<string>());
        Assert.Contains("may or may not have been accepted", body["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_submission_certainly_not_stored_is_a_503_that_names_the_task()
    {
        var (status, body) = await AnswerAsync(new TaskNotAcceptedException("t-2", "task t-2 was not accepted: the journal is unreachable; nothing was stored"));
        Assert.Equal(503, status);
        Assert.Equal("t-2", body["task-id"]!.GetValue<string>());
        Assert.Equal("not-accepted", body["outcome"]!.GetValue<string>());
    }
}
