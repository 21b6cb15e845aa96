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
    public void Each_incarnation_numbers_its_batches_from_one_under_a_name_of_its_own()
    {
        var mediator = CreateTestProbe();
        TaskEvent Event(string id) => new(EventTypes.TaskReceived, id, "tasks.add", "RECEIVED", DateTimeOffset.UtcNow);
        TaskEventBatch[] Batches(IActorRef batcher)
        {
            foreach (var id in new[] { "a", "b", "c", "d" })
                batcher.Tell(new Publish(MonitoringTopics.Tasks, Event(id)));
            return [(TaskEventBatch)mediator.ExpectMsg<Publish>().Message, (TaskEventBatch)mediator.ExpectMsg<Publish>().Message];
        }

        var first = Batches(Sys.ActorOf(Akka.Actor.Props.Create(() => new TaskEventBatcher(mediator.Ref, TimeSpan.FromHours(1), 2))));
        var again = Batches(Sys.ActorOf(Akka.Actor.Props.Create(() => new TaskEventBatcher(mediator.Ref, TimeSpan.FromHours(1), 2))));

        Assert.Equal([1L, 2L], first.Select(b => b.Number));
        Assert.Equal([1L, 2L], again.Select(b => b.Number));
        Assert.Single(first.Select(b => b.Publisher).Distinct());
        Assert.NotEqual(first[0].Publisher, again[0].Publisher);
        Assert.StartsWith(((ExtendedActorSystem)Sys).Provider.DefaultAddress + "/", first[0].Publisher);
    }

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

    [Fact]
    public void A_batch_never_outgrows_its_byte_limit_and_an_event_as_large_goes_alone()
    {
        var mediator = CreateTestProbe();
        var batcher = Sys.ActorOf(Akka.Actor.Props.Create(() => new TaskEventBatcher(mediator.Ref, TimeSpan.FromHours(1), 100, 64 * 1024)));
        // A result of 5 KB counts as ~30 KB (small payloads are taken at the worst case of escaping): two fit under 64 KiB.
        using var big = System.Text.Json.JsonDocument.Parse("\"" + new string('x', 5_000) + "\"");
        TaskEvent Event(string id, System.Text.Json.JsonElement? result = null) =>
            new(EventTypes.TaskSucceeded, id, "tasks.echo", "SUCCESS", DateTimeOffset.UtcNow, Result: result);

        foreach (var id in new[] { "a", "b", "c", "d", "e" })
            batcher.Tell(new Publish(MonitoringTopics.Tasks, Event(id, big.RootElement)));
        var first = ((TaskEventBatch)mediator.ExpectMsg<Publish>().Message).Events.Select(e => e.Uuid).ToArray();
        Assert.InRange(first.Length, 1, 4);
        Assert.Equal(new[] { "a", "b", "c", "d", "e" }.Take(first.Length), first);

        // One event beyond the limit leaves on its own, after what waited before it.
        using var huge = System.Text.Json.JsonDocument.Parse("\"" + new string('y', 70_000) + "\"");
        var other = CreateTestProbe();
        var alone = Sys.ActorOf(Akka.Actor.Props.Create(() => new TaskEventBatcher(other.Ref, TimeSpan.FromHours(1), 100, 64 * 1024)));
        alone.Tell(new Publish(MonitoringTopics.Tasks, Event("small")));
        alone.Tell(new Publish(MonitoringTopics.Tasks, Event("huge", huge.RootElement)));
        Assert.Equal(["small"], ((TaskEventBatch)other.ExpectMsg<Publish>().Message).Events.Select(e => e.Uuid));
        Assert.Equal(["huge"], ((TaskEventBatch)other.ExpectMsg<Publish>().Message).Events.Select(e => e.Uuid));
    }
}
