using Jobs.Actors.Monitoring;
using Xunit;

namespace Jobs.Tests.Monitoring;

public sealed class TaskQuerySpec
{
    private static TaskQuery Parse(string? limit = null, string? offset = null, string? sortBy = null, string? state = null,
        string? start = null, string? end = null) =>
        TaskQuery.Parse(limit, offset, sortBy, null, null, state, start, end, null);

    [Fact]
    public void Defaults_are_the_newest_hundred()
    {
        var query = Parse();
        Assert.Equal(100, query.Limit);
        Assert.Equal(0, query.Offset);
        Assert.Equal("received", query.SortColumn);
        Assert.True(query.Descending);
    }

    [Fact]
    public void Flowers_sort_keys_and_date_format_are_understood()
    {
        var query = Parse(sortBy: "runtime", state: "success,failure", start: "2026-11-25 09:00", end: "2026-11-25 10:00");
        Assert.Equal("runtime", query.SortColumn);
        Assert.False(query.Descending);
        Assert.Equal(["SUCCESS", "FAILURE"], query.States!);
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), query.ReceivedStart);
        Assert.Equal(3600, query.ReceivedEnd - query.ReceivedStart);
    }

    [Theory]
    [InlineData("limit", "-1", null, null, null, null)]
    [InlineData("limit", "abc", null, null, null, null)]
    [InlineData("limit", "0", null, null, null, null)]
    [InlineData("offset", null, "-5", null, null, null)]
    [InlineData("sort_by", null, null, "nonsense", null, null)]
    [InlineData("state", null, null, null, "DONE", null)]
    [InlineData("received_start", null, null, null, null, "yesterday")]
    public void Bad_parameters_are_rejected_naming_the_parameter(string parameter, string? limit, string? offset, string? sortBy,
        string? state, string? start)
    {
        var e = Assert.Throws<TaskQueryException>(() => Parse(limit, offset, sortBy, state, start));
        Assert.Equal(parameter, e.Parameter);
        Assert.Contains(parameter, e.Message);
    }

    [Fact]
    public void A_start_after_the_end_is_rejected()
    {
        var e = Assert.Throws<TaskQueryException>(() => Parse(start: "2026-11-25 10:00", end: "2026-11-25 09:00"));
        Assert.Equal("received_start", e.Parameter);
    }
}
