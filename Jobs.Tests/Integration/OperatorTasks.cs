using Jobs.Actors.Tasks;

namespace Jobs.Tests.Integration;

/// <summary>Tasks the operating specs steer with control commands, so the limits they set touch no other spec's tasks.</summary>
public static class OperatorTasks
{
    [JobsTask("test.nap")]
    public static async Task<double> Nap(double seconds, CancellationToken cancel)
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds), cancel);
        return seconds;
    }

    [JobsTask("test.tick")]
    public static int Tick(int i) => i;
}
