using Jobs.Actors.Client;
using Jobs.Actors.Hosting;
using Jobs.Actors.Tasks;
using Akka.Configuration;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class TaskRoutesSpec
{
    private static readonly TaskRoutes Routes = JobsSettings.Create(ConfigurationFactory.ParseString("""
        jobs.tasks.default-queue = celery
        jobs.tasks.routes { "tasks.image.*" = images, "tasks.image.thumbnail" = never, "tasks.?dd" = adds }
        """).WithFallback(JobsConfig.Defaults())).Routes;

    [Fact]
    public void The_first_matching_glob_picks_the_queue()
    {
        Assert.Equal("images", Routes.QueueFor("tasks.image.thumbnail"));
        Assert.Equal("adds", Routes.QueueFor("tasks.add"));
    }

    [Fact]
    public void An_explicit_queue_wins_and_unrouted_tasks_take_the_default()
    {
        Assert.Equal("urgent", Routes.QueueFor("tasks.image.resize", "urgent"));
        Assert.Equal("celery", Routes.QueueFor("tasks.mul"));
    }

    [Fact]
    public void The_client_sends_a_task_to_its_routed_queue()
    {
        var client = new TaskClient(Akka.Actor.ActorRefs.Nobody, Routes, TimeSpan.FromSeconds(1));
        Assert.Equal("images", client.ToCommand("tasks.image.crop", null, null, new TaskOptions(), false).Queue);
        Assert.Equal("mine", client.ToCommand("tasks.image.crop", null, null, new TaskOptions { Queue = "mine" }, false).Queue);
    }
}
