using System.Linq.Expressions;
using System.Reflection;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Client;

/// <summary>
/// Typed sending where the caller has the task code: <c>client.DelayAsync(() => Tasks.Add(2, 2))</c> sends
/// <c>tasks.add</c> with [2, 2], taking the name and default queue from the method's <see cref="JobsTaskAttribute"/>.
/// The method is never called here; only its name and argument values are read.
/// </summary>
public static class TypedCalls
{
    public static Task<AsyncResult> DelayAsync<TResult>(this TaskClient client, Expression<Func<TResult>> call,
        TaskOptions? options = null, CancellationToken cancellationToken = default) =>
        Send(client, call.Body, options, cancellationToken);

    public static Task<AsyncResult> DelayAsync<TTasks, TResult>(this TaskClient client, Expression<Func<TTasks, TResult>> call,
        TaskOptions? options = null, CancellationToken cancellationToken = default) =>
        Send(client, call.Body, options, cancellationToken);

    public static Task<AsyncResult> DelayAsync(this TaskClient client, Expression<Action> call,
        TaskOptions? options = null, CancellationToken cancellationToken = default) =>
        Send(client, call.Body, options, cancellationToken);

    private static Task<AsyncResult> Send(TaskClient client, Expression body, TaskOptions? options, CancellationToken cancellationToken)
    {
        if (body is not MethodCallExpression call)
            throw new ArgumentException("the expression must be a call of a [JobsTask] method, e.g. () => Tasks.Add(2, 2)");
        var attribute = call.Method.GetCustomAttribute<JobsTaskAttribute>()
            ?? throw new ArgumentException($"{call.Method.DeclaringType?.Name}.{call.Method.Name} is not marked [JobsTask]");
        var name = attribute.Name ?? TaskNaming.DefaultName(call.Method);
        var args = call.Method.GetParameters()
            .Zip(call.Arguments, (parameter, argument) => (parameter, argument))
            .Where(p => p.parameter.ParameterType != typeof(TaskContext) && p.parameter.ParameterType != typeof(CancellationToken))
            .Select(p => Evaluate(p.argument))
            .ToArray();
        options ??= new TaskOptions();
        if (options.Queue is null && attribute.Queue is not null)
            options = options with { Queue = attribute.Queue };
        return client.SendTaskAsync(name, args, options: options, cancellationToken: cancellationToken);
    }

    private static object? Evaluate(Expression argument) => argument switch
    {
        ConstantExpression constant => constant.Value,
        _ => Expression.Lambda(Expression.Convert(argument, typeof(object))).Compile(preferInterpretation: true).DynamicInvoke(),
    };
}
