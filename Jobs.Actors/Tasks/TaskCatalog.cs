namespace Jobs.Actors.Tasks;

/// <summary>Which task names the cluster can run, and their definitions where this node has the code.</summary>
public interface ITaskCatalog
{
    IReadOnlyCollection<string> Names { get; }

    bool IsRegistered(string name);

    /// <summary>The definition when this node has the task's code, so arguments can be checked before sending.</summary>
    TaskDefinition? LocalDefinition(string name);
}
