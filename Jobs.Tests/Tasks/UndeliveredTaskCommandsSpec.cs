using Akka.Actor;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

/// <summary>A task command that reaches no entity of this node (it could not start, or stopped) is answered at once.</summary>
public sealed class UndeliveredTaskCommandsSpec() : TestKit("akka.loglevel = WARNING")
{
    /// <summary>Where a task entity of this node lives; none does here, so whatever is sent there is a dead letter.</summary>
    private IActorRef MissingEntity(string id) =>
        new EmptyLocalActorRef(((ExtendedActorSystem)Sys).Provider, ActorPath.Parse($"akka://{Sys.Name}/system/sharding/task/7/{id}"), Sys.EventStream);

    [Fact]
    public void A_submission_a_revoke_and_a_read_that_reached_no_entity_are_answered_with_the_task_id()
    {
        Sys.ActorOf(UndeliveredTaskCommands.Props());
        AwaitAssert(() =>
        {
            MissingEntity("s1").Tell(new GetTaskResult("s1"));
            Assert.StartsWith("task s1 could not be read", ExpectMsg<CommandFailed>(TimeSpan.FromMilliseconds(500)).Reason);
        });

        MissingEntity("s2").Tell(new RevokeTask("s2"));
        var revoke = ExpectMsg<CommandFailed>();
        Assert.Equal("s2", revoke.Id);
        Assert.False(revoke.OutcomeUnknown);
        Assert.StartsWith("the revoke of task s2 was not accepted", revoke.Reason);

        MissingEntity("s3").Tell(new SubmitTask("s3", "tasks.add", default, default, "default"));
        Assert.StartsWith("task s3 was not accepted", ExpectMsg<CommandFailed>().Reason);
    }
}
