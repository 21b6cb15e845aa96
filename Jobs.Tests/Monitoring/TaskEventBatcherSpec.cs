using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Monitoring;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>A node's task events leave for pub-sub in batches, in order; other publications pass at once.</summary>
public sealed class TaskEventBatcherSpec : TestKit
{
    [Fact]
    public void Task_events_of_an_interval_are_published_as_one_batch_in_order_and_other_messages_pass_through()
    {
        var mediator = CreateTestProbe();
        var batcher = Sys.ActorOf(Akka.Actor.Props.Create(() => new TaskEventBatcher(mediator.Ref, TimeSpan.FromMilliseconds(100), 100)));
        TaskEvent Event(string id) => new(EventTypes.TaskReceived, id, "tasks.add", "RECEIVED", DateTimeOffset.UtcNow);

        batcher.Tell(new Publish(MonitoringTopics.Tasks, Event("a")));
        batcher.Tell(new Publish(MonitoringTopics.Workers, "a worker event"));
        batcher.Tell(new Publish(MonitoringTopics.Tasks, Event("b")));
        Assert.Equal(MonitoringTopics.Workers, mediator.ExpectMsg<Publish>().Topic);
        var batch = mediator.ExpectMsg<Publish>();
        Assert.Equal(MonitoringTopics.Tasks, batch.Topic);
        Assert.Equal(["a", "b"], ((TaskEventBatch)batch.Message).Events.Select(e => e.Uuid));

        // A full batch leaves without waiting for the interval (an hour here).
        var filling = Sys.ActorOf(Akka.Actor.Props.Create(() => new TaskEventBatcher(mediator.Ref, TimeSpan.FromHours(1), 3)));
        foreach (var id in new[] { "c", "d", "e", "f" })
            filling.Tell(new Publish(MonitoringTopics.Tasks, Event(id)));
        Assert.Equal(["c", "d", "e"], ((TaskEventBatch)mediator.ExpectMsg<Publish>().Message).Events.Select(e => e.Uuid));
        mediator.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }
}
