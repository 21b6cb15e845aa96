using Jobs.Actors.Client;
using Jobs.Actors.Hosting;
using Xunit;

namespace Jobs.Tests.Tasks;

/// <summary>The ids ActorJobs gives are time-ordered UUIDs (version 7), so stores keyed by them append (README "Performance").</summary>
public sealed class TaskIdsSpec
{
    private static readonly TaskClient Client = new(Akka.Actor.ActorRefs.Nobody,
        JobsSettings.Create(JobsConfig.Defaults()).Routes, TimeSpan.FromSeconds(1));

    [Fact]
    public void A_task_sent_without_an_id_gets_a_version_7_uuid()
    {
        var id = Client.ToCommand("tasks.add", null, null, new TaskOptions(), false).TaskId;
        Assert.True(Guid.TryParse(id, out var parsed), id);
        Assert.Equal(7, parsed.Version);
        Assert.Equal(id, parsed.ToString());
    }

    [Fact]
    public void Ids_given_later_sort_after_earlier_ones_and_a_given_id_is_kept()
    {
        var earlier = TaskIds.New();
        // Version 7 orders by the millisecond; ids of the same millisecond are random among themselves.
        var millisecond = DateTime.UtcNow;
        while (DateTime.UtcNow <= millisecond.AddMilliseconds(2))
            Thread.SpinWait(100);
        var later = Client.ToCommand("tasks.add", null, null, new TaskOptions(), false).TaskId;
        Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} then {later}");
        Assert.Equal("my-own-id", Client.ToCommand("tasks.add", null, null, new TaskOptions { TaskId = "my-own-id" }, false).TaskId);
    }
}
