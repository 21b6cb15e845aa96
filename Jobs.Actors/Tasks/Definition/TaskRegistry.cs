using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Jobs.Actors.Workers;

namespace Jobs.Actors.Tasks;

/// <summary>The tasks a worker can run, found by their <see cref="JobsTaskAttribute"/>; names are unique.</summary>
public sealed class TaskRegistry
{
    private readonly Dictionary<string, TaskDefinition> _byName;

    private TaskRegistry(Dictionary<string, TaskDefinition> byName)
    {
        _byName = byName;
        Tasks = byName.Values.OrderBy(d => d.Name, StringComparer.Ordinal).ToArray();
        Names = Tasks.Select(d => d.Name).ToArray();
    }

    public IReadOnlyCollection<TaskDefinition> Tasks { get; }

    public IReadOnlyCollection<string> Names { get; }

    public static TaskRegistry FromAssemblies(IEnumerable<Assembly> assemblies) =>
        FromTypes(assemblies.Distinct().SelectMany(LoadableTypes).Where(t => t.IsVisible));

    public static TaskRegistry FromTypes(IEnumerable<Type> types)
    {
        var byName = new Dictionary<string, TaskDefinition>(StringComparer.Ordinal);
        foreach (var method in types.Distinct().SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)))
        {
            var attribute = method.GetCustomAttribute<JobsTaskAttribute>();
            if (attribute is null)
                continue;
            Validate(method, attribute);
            var definition = new TaskDefinition(method, attribute);
            if (byName.TryGetValue(definition.Name, out var existing))
                throw new DuplicateTaskNameException(
                    $"the task name '{definition.Name}' is used twice: by {Describe(existing.Method)} and by {Describe(method)}");
            byName[definition.Name] = definition;
        }
        return new TaskRegistry(byName);
    }

    public bool TryGet(string name, [MaybeNullWhen(false)] out TaskDefinition definition) => _byName.TryGetValue(name, out definition);

    private static void Validate(MethodInfo method, JobsTaskAttribute attribute)
    {
        string? problem = null;
        if (attribute.Name is { } name && string.IsNullOrWhiteSpace(name))
            problem = "its name is empty";
        else if (method.IsGenericMethodDefinition)
            problem = "generic methods cannot be tasks";
        else if (method.GetParameters().Any(p => p.ParameterType.IsByRef))
            problem = "ref and out parameters cannot come from JSON";
        else if (!method.IsStatic && (method.DeclaringType!.IsAbstract || method.DeclaringType.GetConstructor(Type.EmptyTypes) is null))
            problem = "an instance method needs a class with a public parameterless constructor";
        else if (!RateLimit.TryParse(attribute.RateLimit ?? "0", out _, out var rateProblem))
            problem = rateProblem;
        else if ((SetTimeLimit.Problem(Math.Max(0, attribute.SoftTimeLimit), "SoftTimeLimit") ?? SetTimeLimit.Problem(Math.Max(0, attribute.TimeLimit), "TimeLimit")) is { } limitProblem)
            problem = limitProblem;
        else if (attribute.MaxRetries < -1)
            problem = "MaxRetries must be -1 (unlimited) or more";
        if (problem is not null)
            throw new InvalidTaskDefinitionException($"{Describe(method)} cannot be a task: {problem}");
    }

    private static string Describe(MethodInfo method) => $"{method.DeclaringType?.FullName}.{method.Name}";

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
