using Jobs.Actors.Monitoring;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>
/// The index writer's memory of purged tasks, on a virtual clock: long enough that a journal page read before a purge
/// cannot bring the task back, and bounded by the purges of the last two minutes, whatever the node ever purged.
/// </summary>
public sealed class RecentlyExpiredSpec
{
    private static readonly DateTime T0 = new(2026, 12, 2, 9, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Memory = RecentlyExpired.Memory;

    [Fact]
    public void An_id_is_remembered_for_at_least_the_memory_however_the_generations_fall()
    {
        var expired = new RecentlyExpired(T0);
        // Just before the generation turns, and just after.
        expired.Add(["late"], T0 + Memory - TimeSpan.FromMilliseconds(1));
        expired.Add(["early"], T0 + Memory);

        expired.Age(T0 + 2 * Memory - TimeSpan.FromMilliseconds(2));
        Assert.True(expired.Contains("late"));
        Assert.True(expired.Contains("early"));

        expired.Age(T0 + 2 * Memory);
        Assert.False(expired.Contains("late"));
        Assert.True(expired.Contains("early"));

        expired.Age(T0 + 3 * Memory - TimeSpan.FromMilliseconds(1));
        Assert.True(expired.Contains("early"));
        expired.Age(T0 + 3 * Memory);
        Assert.False(expired.Contains("early"));
    }

    [Fact]
    public void Purges_that_never_stop_keep_at_most_two_memories_of_ids()
    {
        var expired = new RecentlyExpired(T0);
        const int perSecond = 100;
        var most = 0;
        for (var second = 0; second < 20 * 60; second++)
        {
            var now = T0 + TimeSpan.FromSeconds(second);
            expired.Add(Enumerable.Range(0, perSecond).Select(i => $"{second}-{i}"), now);
            most = Math.Max(most, expired.Count);
            Assert.True(expired.Contains($"{second}-0"));
            Assert.True(expired.Contains($"{Math.Max(0, second - (int)Memory.TotalSeconds)}-{perSecond - 1}"));
        }
        Assert.InRange(most, perSecond * (int)Memory.TotalSeconds, 2 * perSecond * (int)Memory.TotalSeconds);
    }

    [Fact]
    public void After_a_quiet_spell_nothing_old_is_kept()
    {
        var expired = new RecentlyExpired(T0);
        expired.Add(["a", "b"], T0 + TimeSpan.FromSeconds(1));
        expired.Age(T0 + 2 * Memory + TimeSpan.FromSeconds(1));
        Assert.Equal(0, expired.Count);
        expired.Add(["c"], T0 + 3 * Memory);
        Assert.True(expired.Contains("c"));
        Assert.False(expired.Contains("a"));
    }
}
