using Akka.Actor;

namespace Jobs.Actors;

/// <summary>
/// Props that create their actor by calling a delegate. <c>Props.Create(() => new T(...))</c> reads the constructor
/// arguments out of the expression tree and creates the actor by reflection (<c>Activator.CreateInstance</c>), which
/// is fine once per node but showed up in the profile for actors created once per task: the task and canvas entities.
/// These props are local only: a delegate cannot be deployed on another node.
/// </summary>
public static class FactoryProps
{
    public static Props Of<TActor>(Func<TActor> create) where TActor : ActorBase =>
        Props.CreateBy(new Producer<TActor>(create));

    private sealed class Producer<TActor>(Func<TActor> create) : IIndirectActorProducer where TActor : ActorBase
    {
        public Type ActorType => typeof(TActor);

        public ActorBase Produce() => create();

        public void Release(ActorBase actor)
        {
        }
    }
}
