using Jobs.Chaos.Faults;
using Xunit;

namespace Jobs.Tests.Chaos;

public sealed class FaultPlanSpec
{
    private static IReadOnlyList<FaultSpec> Draw(int seed, int count, IReadOnlyList<string>? kinds = null)
    {
        var plan = new FaultPlan(seed, kinds ?? FaultPlan.All);
        return Enumerable.Range(0, count).Select(_ => plan.Next()).ToArray();
    }

    [Fact]
    public void The_same_seed_draws_the_same_faults_in_the_same_order()
    {
        Assert.Equal(Draw(42, 50).Select(f => f.ToString()), Draw(42, 50).Select(f => f.ToString()));
        Assert.NotEqual(Draw(42, 50).Select(f => f.ToString()), Draw(43, 50).Select(f => f.ToString()));
    }

    [Fact]
    public void Every_kind_is_drawn_and_the_seed_node_is_never_cut_off()
    {
        var faults = Draw(7, 2000);
        Assert.Equal(FaultPlan.All.Order(), faults.Select(f => f.Kind).Distinct().Order());
        Assert.DoesNotContain(faults.Where(f => FaultPlan.NeedNamespaces.Contains(f.Kind)), f => f.Targets.Contains("seed"));
        Assert.All(faults.Where(f => f.Kind == FaultPlan.PartitionSplit), f => Assert.Equal(2, f.Targets.Distinct().Count()));
    }

    [Fact]
    public void Without_namespaces_a_freeze_stands_in_for_each_partition()
    {
        Assert.Equal([FaultPlan.KillApi, FaultPlan.Freeze, FaultPlan.Freeze],
            FaultPlan.Effective([FaultPlan.KillApi, FaultPlan.PartitionNode, FaultPlan.IsolateNode], canPartition: false));
        Assert.Throws<ArgumentException>(() => FaultPlan.Effective(["unplug-the-moon"], canPartition: true));
    }
}
