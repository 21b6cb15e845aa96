namespace Jobs.Actors.Canvas;

/// <summary>
/// One full, compacting garbage collection that decommits what it frees (<see cref="GCCollectionMode.Aggressive"/>),
/// run on the thread pool, at most once per <see cref="MinimumInterval"/> however many big canvases stop together.
/// </summary>
internal static class MemoryRelease
{
    private static readonly long MinimumInterval = (long)TimeSpan.FromSeconds(10).TotalMilliseconds;
    private static long _lastRequest = -MinimumInterval;

    public static void Request()
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastRequest);
        if (now - last < MinimumInterval || Interlocked.CompareExchange(ref _lastRequest, now, last) != last)
            return;
        ThreadPool.UnsafeQueueUserWorkItem(_ => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true), null);
    }
}
