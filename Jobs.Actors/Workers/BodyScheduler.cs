using System.Collections.Concurrent;

namespace Jobs.Actors.Workers;

/// <summary>
/// Runs task bodies on threads of their own, never on the actor dispatchers: a CPU-bound body must not starve
/// cluster heartbeats or the actors that hand out work. Continuations of async bodies come back here too,
/// because <c>await</c> resumes on the current <see cref="TaskScheduler"/>.
/// </summary>
public sealed class BodyScheduler : TaskScheduler, IDisposable
{
    [ThreadStatic] private static BodyScheduler? _current;
    private readonly BlockingCollection<Task> _work = new();
    private readonly List<Thread> _threads = new();
    private readonly string _name;

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

    protected override void QueueTask(Task task) => _work.Add(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        _current == this && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _work.ToArray();

    public Task<T> Run<T>(Func<Task<T>> body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    private void Run()
    {
        _current = this;
        foreach (var task in _work.GetConsumingEnumerable())
            TryExecuteTask(task);
    }

    public void Dispose() => _work.CompleteAdding();
}
