using System.Reflection;
using System.Text;

namespace Jobs.Actors.Tasks;

public static class TaskNaming
{
    /// <summary>
    /// Class and method in lower snake case joined by a dot: <c>Tasks.Add</c> is <c>tasks.add</c>,
    /// <c>ImageTasks.MakeThumbnailAsync</c> is <c>image_tasks.make_thumbnail</c>.
    /// </summary>
    public static string DefaultName(MethodInfo method)
    {
        var methodName = method.Name;
        if (methodName.Length > "Async".Length && methodName.EndsWith("Async", StringComparison.Ordinal))
            methodName = methodName[..^"Async".Length];
        return SnakeCase(method.DeclaringType?.Name ?? "") + "." + SnakeCase(methodName);
    }

    /// <summary><c>HTTPTasks</c> → <c>http_tasks</c>, <c>GetURL</c> → <c>get_url</c>, <c>Add2Numbers</c> → <c>add2_numbers</c>.</summary>
    public static string SnakeCase(string name)
    {
        var text = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c) && i > 0)
            {
                var previous = name[i - 1];
                var nextIsLower = i + 1 < name.Length && char.IsLower(name[i + 1]);
                if (char.IsLower(previous) || char.IsDigit(previous) || (char.IsUpper(previous) && nextIsLower))
                    text.Append('_');
            }
            text.Append(char.ToLowerInvariant(c));
        }
        return text.ToString();
    }
}
