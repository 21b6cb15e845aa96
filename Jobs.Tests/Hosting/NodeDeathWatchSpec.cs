using Akka.Actor;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Hosting;
using Xunit;

namespace Jobs.Tests.Hosting;

public sealed class NodeDeathWatchSpec : TestKit
{
    private NodeDeathWatch Deaths => NodeDeathWatch.Get(Sys);

    [Fact]
    public void Every_dependent_registered_when_its_target_dies_is_told_and_one_that_left_is_not()
    {
        var target = CreateTestProbe().Ref;
        var dependents = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToArray();
        var left = CreateTestProbe();
        foreach (var dependent in dependents)
            Deaths.Watch(target, dependent.Ref);
        Deaths.Watch(target, left.Ref);
        Deaths.Unwatch(target, left.Ref);

        Sys.Stop(target);

        foreach (var dependent in dependents)
            Assert.Equal(target, dependent.ExpectMsg<DependencyTerminated>().Target);
        // All are told in one go by the watcher's one Terminated, so a message for the one that left would be here by now.
        left.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_dependent_that_registers_after_its_target_died_is_told_at_once()
    {
        var target = CreateTestProbe().Ref;
        Watch(target);
        Sys.Stop(target);
        ExpectTerminated(target);
        var early = CreateTestProbe();
        var late = CreateTestProbe();

        Deaths.Watch(target, early.Ref);
        Assert.Equal(target, early.ExpectMsg<DependencyTerminated>().Target);
        Deaths.Watch(target, late.Ref);
        Assert.Equal(target, late.ExpectMsg<DependencyTerminated>().Target);
    }

    [Fact]
    public void Many_dependents_of_one_target_make_one_watch_and_a_dead_target_is_forgotten()
    {
        var target = CreateTestProbe().Ref;
        var before = Deaths.Watched;
        var dependents = Enumerable.Range(0, 100).Select(_ => CreateTestProbe()).ToArray();
        foreach (var dependent in dependents)
            Deaths.Watch(target, dependent.Ref);
        Assert.Equal(before + 1, Deaths.Watched);

        Sys.Stop(target);
        foreach (var dependent in dependents)
            dependent.ExpectMsg<DependencyTerminated>();
        Assert.Equal(before, Deaths.Watched);
    }
}
