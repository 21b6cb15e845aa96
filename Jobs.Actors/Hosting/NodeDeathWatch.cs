using System.Collections.Concurrent;
using Akka.Actor;

namespace Jobs.Actors.Hosting;

/// <summary>
/// One DeathWatch per node and watched actor, shared by every actor of the node that depends on it. A task entity
/// depends on the queue partition that holds its attempt and on the worker that runs it: watched per task, that was a
/// Watch and an Unwatch system message per task on the partition's mailbox (its hottest actor), and on the cluster
/// reliable remote system messages with acknowledgements. Here a dependent registers with a method call (no
/// message); the node's watcher actor watches each target once, when its first dependent registers, and tells every
/// dependent registered at its death <see cref="DependencyTerminated"/>. The death itself is Akka's DeathWatch, as
/// before (a local stop, or a remote node quarantined or removed), so the guarantee is the same; only the fan-out is
/// ours. A dependent that registers after its target died is told at once, or, once the dead target's entry is gone,
/// when the watcher's new watch of it answers (watching a dead actor answers <see cref="Terminated"/>).
/// </summary>
public sealed class NodeDeathWatch : IExtension
{
    private readonly ConcurrentDictionary<IActorRef, Target> _targets = new();
    private readonly IActorRef _watcher;

    public NodeDeathWatch(ExtendedActorSystem system) =>
        _watcher = system.SystemActorOf(Props.Create(() => new Watcher(this)), "node-death-watch");

    public static NodeDeathWatch Get(ActorSystem system) => system.WithExtension<NodeDeathWatch, NodeDeathWatchProvider>();

    /// <summary><paramref name="dependent"/> is told <see cref="DependencyTerminated"/> when <paramref name="target"/> dies (at once if it has).</summary>
    public void Watch(IActorRef target, IActorRef dependent)
    {
        var entry = _targets.GetOrAdd(target, static _ => new Target());
        bool first;
        lock (entry)
        {
            if (entry.Dead)
            {
                dependent.Tell(new DependencyTerminated(target));
                return;
            }
            entry.Dependents.Add(dependent);
            first = !entry.Watched;
            entry.Watched = true;
        }
        if (first)
            _watcher.Tell(new WatchTarget(target));
    }

    /// <summary>Nothing is told to <paramref name="dependent"/> about <paramref name="target"/> any more.</summary>
    public void Unwatch(IActorRef target, IActorRef dependent)
    {
        if (!_targets.TryGetValue(target, out var entry))
            return;
        lock (entry)
            entry.Dependents.Remove(dependent);
    }

    /// <summary>How many actors this node watches for its dependents (a figure for specs).</summary>
    public int Watched => _targets.Count;

    private void Died(IActorRef target)
    {
        if (!_targets.TryRemove(target, out var entry))
            return;
        IActorRef[] dependents;
        lock (entry)
        {
            entry.Dead = true;
            dependents = entry.Dependents.ToArray();
            entry.Dependents.Clear();
        }
        var terminated = new DependencyTerminated(target);
        foreach (var dependent in dependents)
            dependent.Tell(terminated);
    }

    /// <summary>Live targets stay watched when their last dependent leaves: they are few (partitions, workers), and long-lived.</summary>
    private sealed class Target
    {
        public readonly HashSet<IActorRef> Dependents = new();
        public bool Watched;
        public bool Dead;
    }

    private sealed record WatchTarget(IActorRef Target);

    private sealed class Watcher : ReceiveActor
    {
        public Watcher(NodeDeathWatch registry)
        {
            Receive<WatchTarget>(watch => Context.Watch(watch.Target));
            Receive<Terminated>(terminated => registry.Died(terminated.ActorRef));
        }
    }
}

public sealed class NodeDeathWatchProvider : ExtensionIdProvider<NodeDeathWatch>
{
    public override NodeDeathWatch CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>A target registered with <see cref="NodeDeathWatch"/> died: the dependent's own <see cref="Terminated"/>.</summary>
public sealed record DependencyTerminated(IActorRef Target);
