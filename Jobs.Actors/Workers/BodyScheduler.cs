namespace Jobs.Actors.Workers;

/// <summary>
/// Runs task bodies on threads of their own, never on the actor dispatchers: a CPU-bound body must not starve
/// cluster heartbeats or the actors that hand out work. Continuations of async bodies come back here too,
/// because <c>await</c> resumes on the current <see cref="TaskScheduler"/>. An idle thread sleeps on a monitor rather
/// than spinning first (as <c>BlockingCollection</c> does): on a small machine the spinning of idle body threads was
/// ~8% of a busy node's CPU, taken from the actors.
/// </summary>
/// <remarks>
/// The rule for bodies: a synchronous body runs with the default scheduler as <see cref="TaskScheduler.Current"/>, so it
/// may block on async code (<c>.Result</c>, <c>.Wait()</c>) whose continuations then run on the thread pool. An async
/// body must not block on async code at all (await it instead): its continuations queue here, behind the very
/// threads that would be blocked waiting for them.
/// </remarks>
public sealed class BodyScheduler : TaskScheduler, IDisposable
{
    [ThreadStatic] private static BodyScheduler? _current;
    private readonly Queue<Task> _work = new();
    private readonly string _name;
    private int _wanted;
    private int _lent;
    private int _threads;
    private int _named;
    private bool _disposed;

    public BodyScheduler(int threads, string name)
    {
        _name = name;
        Resize(threads);
    }

    /// <summary>Threads alive now, lent ones included.</summary>
    public int Threads
    {
        get
        {
            lock (_work)
                return _threads;
        }
    }

    public override int MaximumConcurrencyLevel => Math.Max(1, Threads);

    /// <summary>Adds threads at once; fewer are given back as they go idle, so a body is never cut off.</summary>
    public void Resize(int threads)
    {
        lock (_work)
        {
            _wanted = threads;
            Grow();
            Monitor.PulseAll(_work);
        }
    }

    /// <summary>
    /// One more thread while <paramref name="body"/> runs on after its worker gave up on it (a hard limit, a terminate):
    /// the others keep their slots even if it never yields its thread, and the extra one leaves once it ends.
    /// </summary>
    public void LendWhile(Task body)
    {
        if (body.IsCompleted)
            return;
        lock (_work)
        {
            if (_disposed)
                return;
            _lent++;
            Grow();
        }
        body.ContinueWith(static (_, state) => ((BodyScheduler)state!).Return(), this, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, Default);
    }

    private void Return()
    {
        lock (_work)
        {
            _lent--;
            Monitor.PulseAll(_work);
        }
    }

    private void Grow()
    {
        while (_threads < _wanted + _lent && !_disposed)
        {
            var thread = new Thread(Run)
            {
                IsBackground = true,
                Name = $"{_name}-{++_named}",
                // Below the actor threads, so heartbeats keep their turn when every body spins.
                Priority = ThreadPriority.BelowNormal,
            };
            _threads++;
            thread.Start();
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

    /// <summary>
    /// Starts <paramref name="body"/> here. A <paramref name="synchronous"/> one hides this scheduler from the code it
    /// calls (it has no continuation to keep here), so that code's own tasks and awaits go to the thread pool.
    /// </summary>
    public Task<T> Run<T>(Func<Task<T>> body, bool synchronous) =>
        Task.Factory.StartNew(body, CancellationToken.None,
            synchronous ? TaskCreationOptions.DenyChildAttach | TaskCreationOptions.HideScheduler : TaskCreationOptions.DenyChildAttach,
            this).Unwrap();

    private void Run()
    {
        _current = this;
        while (Take() is { } task)
            TryExecuteTask(task);
    }

    /// <summary>The next task, waiting for one; null once this thread is surplus (it is idle, so nothing is cut off) or disposed and drained.</summary>
    private Task? Take()
    {
        lock (_work)
        {
            while (true)
            {
                if (_threads > _wanted + _lent || _work.Count == 0 && _disposed)
                {
                    _threads--;
                    return null;
                }
                if (_work.Count > 0)
                    return _work.Dequeue();
                Monitor.Wait(_work);
            }
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
