using System.Text.Json.Nodes;
using Jobs.Actors.Beat;

namespace Jobs.Api;

/// <summary>
/// Periodic tasks over HTTP: list, read, create, replace and delete schedule entries, and pause, resume or run one now.
/// Bad input is a 400 naming the field; an unknown entry is a 404.
/// </summary>
public static class ScheduleEndpoints
{
    /// <summary>Entries listed per answer unless <c>limit</c> says otherwise; <c>X-Total-Count</c> tells how many there are.</summary>
    public const int DefaultLimit = 1000;

    public static IEndpointRouteBuilder MapScheduleEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/schedules").WithTags("schedules");
        api.MapGet("/", List).WithSummary(
            "Every schedule entry, keyed by name: definition, source, schedule in words, next 5 run times, last run and its state, counters; paged by ?offset=&limit= (default 1000)");
        api.MapGet("/{name}", Get).WithSummary("One schedule entry; ?upcoming=N lists its next N run times (default 5)");
        api.MapPost("/", Create).WithSummary(
            "Creates an entry: {name, task, args, kwargs, options: {queue, expires}, cron | interval | clocked, time_zone, catch_up, catch_up_window, overlap, paused}");
        api.MapPut("/{name}", Replace).WithSummary("Creates or replaces a run-time entry (HOCON and attribute entries are changed in their source)");
        api.MapDelete("/{name}", Delete).WithSummary("Removes a run-time entry");
        api.MapPost("/{name}/pause", (string name, BeatClient beat, HttpContext http) => Act(beat.PauseAsync(name, http.RequestAborted), beat, http))
            .WithSummary("Pauses an entry: no tick runs until it is resumed, and ticks meanwhile are not caught up");
        api.MapPost("/{name}/resume", (string name, BeatClient beat, HttpContext http) => Act(beat.ResumeAsync(name, http.RequestAborted), beat, http))
            .WithSummary("Resumes a paused entry from its next tick");
        api.MapPost("/{name}/run-now", RunNow).WithSummary("Sends the entry's task now (also when paused); answers once it is RECEIVED, with its task_id");
        return app;
    }

    private static async Task<IResult> List(BeatClient beat, HttpContext http, int? offset, int? limit)
    {
        if (offset is < 0)
            throw new BadRequestException("'offset' must be 0 or more", "offset");
        if (limit is < 0 or > 100_000)
            throw new BadRequestException("'limit' must be from 0 to 100000", "limit");
        var all = await beat.ListAsync(http.RequestAborted);
        var page = all.Skip(offset ?? 0).Take(limit ?? DefaultLimit).ToArray();
        var runs = await beat.LastRunsAsync(page, http.RequestAborted);
        var now = DateTimeOffset.UtcNow;
        var answer = new JsonObject();
        foreach (var view in page)
            answer[view.Name] = BeatClient.Describe(view, now, view.LastRun is { } run ? runs.GetValueOrDefault(run.TaskId) : null);
        http.Response.Headers["X-Total-Count"] = all.Count.ToString();
        return Results.Json(answer);
    }

    private static async Task<IResult> Get(string name, BeatClient beat, HttpContext http, int? upcoming)
    {
        if (upcoming is < 0 or > 1000)
            throw new BadRequestException("'upcoming' must be from 0 to 1000", "upcoming");
        var view = await beat.GetAsync(name, http.RequestAborted);
        return Results.Json(await DescribeAsync(view, beat, http, upcoming ?? 5));
    }

    private static async Task<IResult> Create(BeatClient beat, HttpContext http)
    {
        var body = await JsonBody.ReadAsync(http) ?? throw new BadRequestException("the request body must be a schedule entry", "body");
        var view = await beat.DefineAsync(body, null, DefineMode.Create, http.RequestAborted);
        return Results.Json(await DescribeAsync(view, beat, http), statusCode: 201);
    }

    private static async Task<IResult> Replace(string name, BeatClient beat, HttpContext http)
    {
        var body = await JsonBody.ReadAsync(http) ?? throw new BadRequestException("the request body must be a schedule entry", "body");
        var view = await beat.DefineAsync(body, name, DefineMode.Replace, http.RequestAborted);
        return Results.Json(await DescribeAsync(view, beat, http));
    }

    private static async Task<IResult> Delete(string name, BeatClient beat, HttpContext http)
    {
        await beat.RemoveAsync(name, cancel: http.RequestAborted);
        return Results.Json(new JsonObject { ["message"] = $"Removed schedule entry '{name}'" });
    }

    private static async Task<IResult> RunNow(string name, BeatClient beat, HttpContext http)
    {
        var view = await beat.RunNowAsync(name, http.RequestAborted);
        var json = await DescribeAsync(view, beat, http);
        json["task_id"] = view.LastRun?.TaskId;
        return Results.Json(json);
    }

    private static async Task<IResult> Act(Task<EntryView> action, BeatClient beat, HttpContext http) =>
        Results.Json(await DescribeAsync(await action, beat, http));

    private static async Task<JsonObject> DescribeAsync(EntryView view, BeatClient beat, HttpContext http, int upcoming = 5)
    {
        var runs = await beat.LastRunsAsync([view], http.RequestAborted);
        return BeatClient.Describe(view, DateTimeOffset.UtcNow, view.LastRun is { } run ? runs.GetValueOrDefault(run.TaskId) : null, upcoming);
    }
}
