using System.Text;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Monitoring;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>Dead letters are counted by the type of the message lost, inside its sharding or selection envelope.</summary>
public sealed class DeadLetterCountsSpec() : TestKit("akka.loglevel = WARNING")
{
    private sealed record Lost(int N);

    [Fact]
    public void A_message_to_a_stopped_actor_is_counted_by_its_type_and_shown_as_a_prometheus_counter()
    {
        var counts = DeadLetterCounts.Start(Sys);
        var gone = Sys.ActorOf(Props.Empty);
        Watch(gone);
        Sys.Stop(gone);
        ExpectTerminated(gone);

        gone.Tell(new Lost(1));
        gone.Tell(new ShardingEnvelope("entity", new Lost(2)));
        gone.Tell(new ActorSelectionMessage(new Lost(3), [], false));

        AwaitAssert(() => Assert.Equal(3, counts.Count(nameof(Lost))), TimeSpan.FromSeconds(10));
        var text = new StringBuilder();
        counts.WriteTo(text);
        Assert.Contains("# TYPE jobs_dead_letters_total counter", text.ToString());
        Assert.Contains("jobs_dead_letters_total{type=\"Lost\",kind=\"dead\"} 3", text.ToString());
    }
}
