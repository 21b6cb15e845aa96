using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class TaskRegistrySpec
{
    internal static class First
    {
        [JobsTask("shared-name")]
        public static int One() => 1;
    }

    internal static class Second
    {
        [JobsTask("shared-name")]
        public static int Two() => 2;
    }

    internal static class BadRate
    {
        [JobsTask(RateLimit = "fast")]
        public static int Run() => 1;
    }

    internal static class ZeroRate
    {
        [JobsTask("zero-rate", RateLimit = "0/s")]
        public static int Run() => 1;
    }

    internal static class GlacialRate
    {
        [JobsTask(RateLimit = "1e-20/s")]
        public static int Run() => 1;
    }

    internal static class EndlessLimit
    {
        [JobsTask(TimeLimit = 1e20)]
        public static int Run() => 1;
    }

    internal abstract class NoConstructor
    {
        [JobsTask]
        public int Run() => 1;
    }

    internal sealed class InstanceTasks
    {
        private int _calls;

        [JobsTask("instance.count")]
        public int Count() => ++_calls;
    }

    [Fact]
    public void The_example_tasks_are_registered_under_their_names()
    {
        var registry = TaskRegistry.FromAssemblies([typeof(Jobs.Node.Tasks).Assembly]);
        Assert.Equal(
            ["sum-of-two-numbers", "tasks.add", "tasks.echo", "tasks.fail", "tasks.flaky", "tasks.mul", "tasks.sleep", "tasks.spin", "tasks.tsum", "tasks.xsum"],
            registry.Names);
        Assert.True(registry.TryGet("tasks.add", out var add));
        Assert.Equal("tasks.add(x: int, y: int)", add.Signature);
        Assert.False(registry.TryGet("tasks.nope", out _));
    }

    [Fact]
    public void A_duplicate_name_is_an_error_naming_both_methods()
    {
        var error = Assert.Throws<DuplicateTaskNameException>(() => TaskRegistry.FromTypes([typeof(First), typeof(Second)]));
        Assert.Contains("shared-name", error.Message);
        Assert.Contains("First.One", error.Message);
        Assert.Contains("Second.Two", error.Message);
    }

    [Fact]
    public void An_invalid_rate_limit_is_an_error_naming_the_method()
    {
        var error = Assert.Throws<InvalidTaskDefinitionException>(() => TaskRegistry.FromTypes([typeof(BadRate)]));
        Assert.Contains("BadRate.Run", error.Message);
        Assert.Contains("'fast'", error.Message);
    }

    [Fact]
    public void A_rate_limit_of_zero_means_none_as_in_celery()
    {
        Assert.True(TaskRegistry.FromTypes([typeof(ZeroRate)]).TryGet("zero-rate", out var definition));
        Assert.Null(definition.RateLimit);
    }

    [Fact]
    public void A_rate_limit_or_time_limit_no_timer_can_keep_is_an_error_naming_the_method()
    {
        var rate = Assert.Throws<InvalidTaskDefinitionException>(() => TaskRegistry.FromTypes([typeof(GlacialRate)]));
        Assert.Contains("GlacialRate.Run", rate.Message);
        Assert.Contains("too slow", rate.Message);
        var limit = Assert.Throws<InvalidTaskDefinitionException>(() => TaskRegistry.FromTypes([typeof(EndlessLimit)]));
        Assert.Contains("TimeLimit must be a number of seconds from 0", limit.Message);
    }

    [Fact]
    public void An_instance_method_needs_a_constructible_class()
    {
        Assert.Throws<InvalidTaskDefinitionException>(() => TaskRegistry.FromTypes([typeof(NoConstructor)]));
    }

    [Fact]
    public async Task An_instance_method_gets_a_new_instance_per_attempt()
    {
        var registry = TaskRegistry.FromTypes([typeof(InstanceTasks)]);
        Assert.True(registry.TryGet("instance.count", out var count));
        var context = TaskInvocationSpec.Context("instance.count");
        Assert.Equal(1, (await count.InvokeAsync(count.Bind(null, null), context)).GetInt32());
        Assert.Equal(1, (await count.InvokeAsync(count.Bind(null, null), context)).GetInt32());
    }
}
