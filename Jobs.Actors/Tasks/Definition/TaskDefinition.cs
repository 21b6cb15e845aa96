using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text.Json;

namespace Jobs.Actors.Tasks;

/// <summary>A parameter bound from JSON (not an injected <see cref="TaskContext"/> or token).</summary>
public sealed record TaskParameter(string Name, Type Type, bool IsOptional, object? DefaultValue);

/// <summary>Argument values ready for the call, with the injected slots still empty.</summary>
public sealed class BoundArguments
{
    internal BoundArguments(object?[] values) => Values = values;

    internal object?[] Values { get; }
}

/// <summary>
/// One registered task: its name, options and method, how JSON arguments bind to its parameters (with
/// Python-like errors), and how it is called and its result written as JSON.
/// </summary>
public sealed class TaskDefinition
{
    /// <summary>Strict Web defaults: numbers must be numbers, names are matched case-insensitively.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    private static readonly NullabilityInfoContext Nullability = new();

    private readonly ParameterInfo[] _all;
    private readonly int[] _bound;
    private readonly bool[] _nullable;
    private readonly int _contextSlot;
    private readonly int _tokenSlot;
    private readonly MethodInvoker _invoker;
    private readonly Func<object?, Task<object?>> _await;
    private readonly Type _resultType;

    internal TaskDefinition(MethodInfo method, JobsTaskAttribute attribute)
    {
        Method = method;
        Name = attribute.Name ?? TaskNaming.DefaultName(method);
        Queue = attribute.Queue;
        RateLimit = Workers.RateLimit.Parse(attribute.RateLimit ?? "0");
        SoftTimeLimit = attribute.SoftTimeLimit > 0 ? TimeSpan.FromSeconds(attribute.SoftTimeLimit) : null;
        TimeLimit = attribute.TimeLimit > 0 ? TimeSpan.FromSeconds(attribute.TimeLimit) : null;
        ResultExpires = attribute.ResultExpires switch
        {
            < 0 => null,
            var seconds => TimeSpan.FromSeconds(seconds),
        };
        IgnoreResult = attribute.IgnoreResult;
        Retry = new RetryPolicy(attribute.MaxRetries, TimeSpan.FromSeconds(attribute.DefaultRetryDelay), attribute.AutoRetryFor,
            attribute.RetryBackoff, TimeSpan.FromSeconds(attribute.RetryBackoffMax), attribute.RetryJitter);

        _all = method.GetParameters();
        _contextSlot = Array.FindIndex(_all, p => p.ParameterType == typeof(TaskContext));
        _tokenSlot = Array.FindIndex(_all, p => p.ParameterType == typeof(CancellationToken));
        _bound = Enumerable.Range(0, _all.Length).Where(i => i != _contextSlot && i != _tokenSlot).ToArray();
        _nullable = _all.Select(IsNullable).ToArray();
        Parameters = _bound.Select(i => _all[i])
            .Select(p => new TaskParameter(p.Name!, p.ParameterType, p.HasDefaultValue, p.HasDefaultValue ? p.DefaultValue : null))
            .ToArray();
        Signature = $"{Name}({string.Join(", ", Parameters.Select(p => $"{p.Name}: {TypeName(p.Type)}{(p.IsOptional ? " = " + (p.DefaultValue ?? "null") : "")}"))})";
        _invoker = MethodInvoker.Create(method);
        (_resultType, _await) = Awaiter(method.ReturnType);
    }

    public string Name { get; }
    public MethodInfo Method { get; }
    public RetryPolicy Retry { get; }
    public string? Queue { get; }
    public TimeSpan? SoftTimeLimit { get; }
    public TimeSpan? TimeLimit { get; }

    /// <summary>How long its results are kept; null: the node's <c>jobs.tasks.result-expires</c>; zero: for ever.</summary>
    public TimeSpan? ResultExpires { get; }

    public bool IgnoreResult { get; }
    /// <summary>Checked by the registry; null when there is none (or it is 0, as in Celery).</summary>
    public Workers.RateLimit? RateLimit { get; }

    /// <summary>A body returning a task: its continuations stay on the body threads (see <see cref="Workers.BodyScheduler"/>).</summary>
    public bool IsAsync => typeof(Task).IsAssignableFrom(Method.ReturnType) || Method.ReturnType == typeof(ValueTask)
        || Method.ReturnType.IsGenericType && Method.ReturnType.GetGenericTypeDefinition() == typeof(ValueTask<>);
    public IReadOnlyList<TaskParameter> Parameters { get; }
    public string Signature { get; }

    /// <summary>Binds positional <paramref name="args"/> then named <paramref name="kwargs"/>, like a Python call.</summary>
    public BoundArguments Bind(JsonElement? args, JsonElement? kwargs)
    {
        var values = new object?[_all.Length];
        var assigned = new bool[_all.Length];

        if (args is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } positional)
        {
            if (positional.ValueKind != JsonValueKind.Array)
                throw new TaskArgumentException($"{Name}() args must be a JSON array, not {Kind(positional)}");
            var given = positional.GetArrayLength();
            if (given > _bound.Length)
                throw new TaskArgumentException(
                    $"{Name}() takes {_bound.Length} positional argument{(_bound.Length == 1 ? "" : "s")} but {given} were given");
            var i = 0;
            foreach (var element in positional.EnumerateArray())
            {
                var slot = _bound[i++];
                values[slot] = Convert(slot, element);
                assigned[slot] = true;
            }
        }

        if (kwargs is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } named)
        {
            if (named.ValueKind != JsonValueKind.Object)
                throw new TaskArgumentException($"{Name}() kwargs must be a JSON object, not {Kind(named)}");
            foreach (var property in named.EnumerateObject())
            {
                var slot = SlotOf(property.Name);
                if (slot < 0)
                    throw new TaskArgumentException($"{Name}() got an unexpected keyword argument '{property.Name}'", property.Name);
                if (assigned[slot])
                    throw new TaskArgumentException($"{Name}() got multiple values for argument '{_all[slot].Name}'", _all[slot].Name);
                values[slot] = Convert(slot, property.Value);
                assigned[slot] = true;
            }
        }

        foreach (var slot in _bound)
        {
            if (assigned[slot])
                continue;
            var parameter = _all[slot];
            if (!parameter.HasDefaultValue)
                throw new TaskArgumentException($"{Name}() missing required argument '{parameter.Name}'", parameter.Name);
            values[slot] = parameter.DefaultValue is DBNull or Missing ? DefaultOf(parameter.ParameterType) : parameter.DefaultValue;
        }
        return new BoundArguments(values);
    }

    /// <summary>Calls the method and writes its result as JSON; the body's own exception propagates unchanged.</summary>
    public async Task<JsonElement> InvokeAsync(BoundArguments arguments, TaskContext context)
    {
        var values = (object?[])arguments.Values.Clone();
        if (_contextSlot >= 0)
            values[_contextSlot] = context;
        if (_tokenSlot >= 0)
            values[_tokenSlot] = context.CancellationToken;
        var target = Method.IsStatic ? null : Activator.CreateInstance(Method.DeclaringType!);

        object? returned;
        try
        {
            returned = _invoker.Invoke(target, values.AsSpan());
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        var result = await _await(returned).ConfigureAwait(false);
        try
        {
            return JsonSerializer.SerializeToElement(result, _resultType, JsonOptions);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new ResultSerializationException(
                $"the result of {Name} ({TypeName(result?.GetType() ?? _resultType)}) cannot be written as JSON: {e.Message}", e);
        }
    }

    private object? Convert(int slot, JsonElement element)
    {
        var parameter = _all[slot];
        var type = parameter.ParameterType;
        if (element.ValueKind == JsonValueKind.Null)
        {
            if (_nullable[slot])
                return null;
            throw new TaskArgumentException($"argument '{parameter.Name}' expects {TypeName(type)}, got null", parameter.Name);
        }
        if (type == typeof(JsonElement))
            return element.Clone();
        try
        {
            return JsonSerializer.Deserialize(element, type, JsonOptions);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new TaskArgumentException($"argument '{parameter.Name}' expects {TypeName(type)}, got {Describe(element)}", parameter.Name);
        }
    }

    /// <summary>Exact name first, then ignoring case, then <c>snake_case</c> as <c>camelCase</c>.</summary>
    private int SlotOf(string name)
    {
        foreach (var slot in _bound)
            if (_all[slot].Name == name) return slot;
        var squashed = name.Replace("_", "");
        foreach (var slot in _bound)
            if (string.Equals(_all[slot].Name, name, StringComparison.OrdinalIgnoreCase) ||
                string.Equals(_all[slot].Name, squashed, StringComparison.OrdinalIgnoreCase)) return slot;
        return -1;
    }

    private static bool IsNullable(ParameterInfo parameter) =>
        !parameter.ParameterType.IsValueType
            ? Nullability.Create(parameter).WriteState != NullabilityState.NotNull || parameter.ParameterType == typeof(object)
            : Nullable.GetUnderlyingType(parameter.ParameterType) is not null;

    private static object? DefaultOf(Type type) => type.IsValueType ? Activator.CreateInstance(type) : null;

    /// <summary>How to await what the method returns, and the type of the value to write as JSON.</summary>
    private static (Type ResultType, Func<object?, Task<object?>> Await) Awaiter(Type returnType)
    {
        if (returnType == typeof(void))
            return (typeof(object), _ => Task.FromResult<object?>(null));
        if (returnType == typeof(Task))
            return (typeof(object), async task => { await ((Task)task!).ConfigureAwait(false); return null; });
        if (returnType == typeof(ValueTask))
            return (typeof(object), async task => { await ((ValueTask)task!).ConfigureAwait(false); return null; });
        if (returnType.IsGenericType)
        {
            var definition = returnType.GetGenericTypeDefinition();
            var inner = returnType.GetGenericArguments()[0];
            var name = definition == typeof(Task<>) ? nameof(AwaitTask) : definition == typeof(ValueTask<>) ? nameof(AwaitValueTask) : null;
            if (name is not null)
            {
                var generic = typeof(TaskDefinition).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(inner);
                return (inner, generic.CreateDelegate<Func<object?, Task<object?>>>());
            }
        }
        return (returnType, value => Task.FromResult(value));
    }

    private static async Task<object?> AwaitTask<T>(object? task) => await ((Task<T>)task!).ConfigureAwait(false);

    private static async Task<object?> AwaitValueTask<T>(object? task) => await ((ValueTask<T>)task!).ConfigureAwait(false);

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    private static string Describe(JsonElement element)
    {
        var kind = element.ValueKind switch
        {
            JsonValueKind.True or JsonValueKind.False => "bool",
            JsonValueKind.Object => "object",
            JsonValueKind.Array => "array",
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            _ => "null",
        };
        var raw = element.GetRawText();
        return $"{kind} {(raw.Length > 40 ? raw[..40] + "…" : raw)}";
    }

    public static string TypeName(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return TypeName(underlying) + "?";
        if (type.IsArray)
            return TypeName(type.GetElementType()!) + "[]";
        if (type.IsGenericType)
            return $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>";
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Int32 => "int",
            TypeCode.Int64 => "long",
            TypeCode.Double => "double",
            TypeCode.Single => "float",
            TypeCode.Decimal => "decimal",
            TypeCode.Boolean => "bool",
            TypeCode.String => "string",
            TypeCode.Int16 => "short",
            TypeCode.Byte => "byte",
            _ => type.Name,
        };
    }
}
