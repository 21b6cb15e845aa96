using System.Reflection;
using Jobs.Actors.Tasks;
using Jobs.Api;

return await NodeHost.RunAsync(args, NodeKind.Worker, options =>
    TaskRegistry.FromAssemblies([typeof(Jobs.Node.Tasks).Assembly, .. options.TaskAssemblies.Select(p => Assembly.LoadFrom(Path.GetFullPath(p)))]));
