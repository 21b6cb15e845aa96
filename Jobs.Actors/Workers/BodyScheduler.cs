namespace Jobs.Actors.Workers;

/// <summary>
/// Runs task bodies on threads of their own, never on the actor dispatchers: a CPU-bound body must not starve
/// cluster heartbeats or the actors that hand out work. Continuations of async bodies come back here too,
/// because <c>await</c> resumes on the current <see cref="TaskScheduler"/>. An idle thread sleeps on a monitor rather
/// than spinning first (as <c>BlockingCollection</c> does): on a small machine the spinning of idle body threads was
/// ~8% of a busy node's CPU, taken from the actors.
/// </summary>
public sealed class BodyScheduler : TaskScheduler, IDisposable
{
    [ThreadStatic] private static BodyScheduler? _current;
    private readonly Queue<Task> _work = new();
    private readonly List<Thread> _threads = new();
    private readonly string _name;
    private bool _disposed;

    public BodyScheduler(int threads, string name)
    {
        _name = name;
        Resize(threads);
    }

    public int Threads
    {
        get
        {
            lock (_threads)
                return _threads.Count(t => t.IsAlive);
        }
    }

    public override int MaximumConcurrencyLevel => Math.Max(1, Threads);

    /// <summary>Adds threads; it never removes them, because a body may be running on any of them.</summary>
    public void Resize(int threads)
    {
        lock (_threads)
        {
            while (_threads.Count < threads)
            {
                var thread = new Thread(Run)
                {
                    IsBackground = true,
                    Name = $"{_name}-{_threads.Count + 1}",
                    // Below the actor threads, so heartbeats keep their turn when every body spins.
                    Priority = ThreadPriority.BelowNormal,
                };
                _threads.Add(thread);
                thread.Start();
            }
        }
    }

    protected override void QueueTask(Task task)
    {
        lock (_work)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _work.Enqueue(task);
            Monitor.Pulse(_work);
        }
    }

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        _current == this && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks()
    {
        lock (_work)
            return _work.ToArray();
    }

    public Task<T> Run<T>(Func<Task<T>> body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    private void Run()
    {
        _current = this;
        while (Take() is { } task)
            TryExecuteTask(task);
    }

    /// <summary>The next task, waiting for one; null once disposed and drained.</summary>
    private Task? Take()
    {
        lock (_work)
        {
            while (_work.Count == 0)
            {
                if (_disposed)
                    return null;
                Monitor.Wait(_work);
            }
            return _work.Dequeue();
        }
    }

    public void Dispose()
    {
        lock (_work)
        {
            _disposed = true;
            Monitor.PulseAll(_work);
        }
    }
}
