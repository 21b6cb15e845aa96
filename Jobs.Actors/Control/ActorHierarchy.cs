using Akka.Actor;

namespace Jobs.Actors.Control;

/// <summary>
/// This node's actor tree, depth-limited, read from the actor cells' children containers: those are immutable
/// snapshots, so the walk needs no message to any actor and cannot block one.
/// </summary>
public static class ActorHierarchy
{
    /// <summary>Children listed per actor before the rest are summarized (a task shard can hold thousands).</summary>
    private const int ChildrenShown = 25;

    public static IReadOnlyList<string> Describe(ActorSystem system, int depth)
    {
        var lines = new List<string>();
        var extended = (ExtendedActorSystem)system;
        Walk(extended.Guardian, 0, depth, lines);
        Walk(extended.SystemGuardian, 0, depth, lines);
        return lines;
    }

    private static void Walk(IActorRef actor, int level, int depth, List<string> lines)
    {
        lines.Add(new string(' ', level * 2) + actor.Path.ToStringWithoutAddress());
        if (level + 1 >= depth || actor is not ActorRefWithCell withCell)
            return;
        var children = withCell.Children.OrderBy(c => c.Path.Name, StringComparer.Ordinal).ToArray();
        foreach (var child in children.Take(ChildrenShown))
            Walk(child, level + 1, depth, lines);
        if (children.Length > ChildrenShown)
            lines.Add(new string(' ', (level + 1) * 2) + $"… {children.Length - ChildrenShown} more");
    }
}
