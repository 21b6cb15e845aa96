namespace Jobs.Actors.Monitoring;

/// <summary>
/// The tasks purged from the journal lately, which a journal page read before their purge may still bring to the
/// index writer after it. A page goes from its read to the writer's mailbox within its asks' timeouts (tens of
/// seconds), so an id is remembered for at least <see cref="Memory"/> and at most twice that, in two generations:
/// the set holds what expired in the last one to two minutes, not in the last ten (at 1,300 purges a second that
/// was ~780,000 ids, ~100 MB of the node's memory growing for ten minutes).
/// </summary>
public sealed class RecentlyExpired
{
    public static readonly TimeSpan Memory = TimeSpan.FromMinutes(1);

    private HashSet<string> _current = new(StringComparer.Ordinal);
    private HashSet<string> _previous = new(StringComparer.Ordinal);
    private DateTime _currentSince;

    public RecentlyExpired(DateTime now) => _currentSince = now;

    public int Count => _current.Count + _previous.Count;

    public void Add(IEnumerable<string> taskIds, DateTime now)
    {
        Age(now);
        _current.UnionWith(taskIds);
    }

    public bool Contains(string taskId) => _current.Contains(taskId) || _previous.Contains(taskId);

    /// <summary>Forgets the generation older than <see cref="Memory"/> once the current one is that old.</summary>
    public void Age(DateTime now)
    {
        if (now - _currentSince < Memory)
            return;
        (_previous, _current) = (_current, _previous);
        _current.Clear();
        // Both generations are old after a quiet spell: neither is needed.
        if (now - _currentSince >= 2 * Memory)
            _previous.Clear();
        _currentSince = now;
    }
}
