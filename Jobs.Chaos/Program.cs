using System.Runtime.InteropServices;
using Jobs.Chaos;

// dotnet run -c Release --project Jobs.Chaos -- [--seed N] [--duration SECONDS] [--rate TASKS/S] [--faults K,K] ... (--help)
ChaosOptions options;
try
{
    options = ChaosOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(ChaosOptions.Usage);
    return 2;
}
if (options.Help)
{
    Console.WriteLine(ChaosOptions.Usage);
    return 0;
}
if (options.Plan is { } count)
{
    var plan = new Jobs.Chaos.Faults.FaultPlan(options.Seed, Jobs.Chaos.Faults.FaultPlan.Effective(options.Faults, canPartition: true));
    for (var i = 0; i < count; i++)
        Console.WriteLine(plan.Next());
    return 0;
}

var dir = options.Directory ?? Path.Combine(Path.GetTempPath(), $"jobs-chaos-{options.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
Directory.CreateDirectory(dir);
using var abort = new CancellationTokenSource();
// Ctrl-C or SIGTERM stops the load and the faults; the nodes, namespaces and Redis are still taken down on the way out.
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    abort.Cancel();
}

int exit;
try
{
    exit = await new ChaosRun(options, dir, line => Console.Error.WriteLine(line)).RunAsync(abort.Token);
}
catch (Exception e)
{
    Console.Error.WriteLine($"the chaos harness failed: {e}");
    Console.Error.WriteLine($"logs in {dir}");
    return 2;
}
if (exit == 0 && !options.Keep)
    Directory.Delete(dir, recursive: true);
else
    Console.Error.WriteLine($"logs in {dir}");
return exit;
