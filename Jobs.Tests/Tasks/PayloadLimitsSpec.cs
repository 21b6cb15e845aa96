using System.Text.Json;
using Akka.Configuration;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Client;
using Jobs.Actors.Serialization;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

/// <summary>Payloads are sized as they travel, and one too large is refused where it arises, never sent to be dropped.</summary>
public sealed class PayloadLimitsSpec() : TestKit("akka.loglevel = WARNING")
{
    private static JsonElement Json(object value) => JsonSerializer.SerializeToElement(value);

    [Fact]
    public void A_size_counts_the_bytes_the_message_serializer_writes()
    {
        var options = JobsSerializer.CreateOptions((Akka.Actor.ExtendedActorSystem)Sys);
        foreach (var value in new[] { Json(new[] { new string('<', 50_000) }), Json(new { text = "héllo wörld", n = 1 }), Json(Array.Empty<int>()) })
        {
            var written = JsonSerializer.SerializeToUtf8Bytes(value, options).Length;
            Assert.Equal(written, PayloadSize.Exact(value));
            Assert.True(PayloadSize.Of(value) >= written);
        }
    }

    [Fact]
    public async Task Arguments_over_the_limit_are_refused_before_they_are_sent()
    {
        var tasks = CreateTestProbe();
        var client = new TaskClient(tasks.Ref, new TaskRoutes("default", []), TimeSpan.FromSeconds(5),
            limits: PayloadLimits.Default with { MaxArgumentsBytes = 1000 });

        // 300 '<' are 304 bytes of JSON but 1,804 as sent (each is escaped to \u003C), and the empty kwargs 2 more.
        var refused = await Assert.ThrowsAsync<TaskTooLargeException>(() =>
            client.SendTaskAsync("tasks.echo", Json(new[] { new string('<', 300) }), null));
        Assert.Contains("1806 bytes", refused.Message);
        Assert.Contains("jobs.tasks.max-arguments-size", refused.Message);
        Assert.IsAssignableFrom<TaskNotAcceptedException>(refused);
        tasks.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        var sent = client.SendTaskAsync("tasks.echo", Json(new[] { new string('x', 300) }), null);
        tasks.ExpectMsg<SubmitTask>();
        tasks.Reply(new TaskResult("any", TaskState.Received));
        await sent;
    }

    [Fact]
    public void The_remoting_frame_must_hold_the_largest_arguments_with_a_parents_result()
    {
        var config = ConfigurationFactory.ParseString("""
            jobs.tasks.max-arguments-size = 1MiB
            jobs.tasks.max-result-size = 1MiB
            akka.remote.dot-netty.tcp.maximum-frame-size = 2MiB
            """);
        var error = Assert.Throws<ConfigurationException>(() => PayloadLimits.Create(config));
        Assert.Contains("maximum-frame-size", error.Message);
        var fits = PayloadLimits.Create(ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.maximum-frame-size = 4MiB"));
        Assert.Equal(4 * 1024 * 1024 - PayloadLimits.Overhead, fits.MaxBatchBytes);
    }
}
