using Akka.Actor;
using Akka.Event;
using Jobs.Actors.Canvas;

namespace Jobs.Actors.Retention;

/// <summary>
/// Purges expired results, one per cluster (a singleton on the shard role). Every sweep interval it reads the ids due
/// by now from the journal's expiry index, lowest due first, a batch at a time (at most a few batches per sweep, so a
/// backlog is spread over sweeps), and purges each batch. It holds nothing of its own: the index is durable and
/// written with the results, and a purge is idempotent, so a sweep cut short (a crash, a hand-over) is simply done
/// again by the next one. A due canvas is expired by its coordinator (<see cref="ExpireCanvas"/>: its members, then
/// itself), asked through the canvas region; one that cannot be expired now is left to the next sweep. Its counters
/// are in <see cref="RetentionStats"/>.
/// </summary>
public sealed class ResultSweeper : ReceiveActor, IWithTimers
{
    public const string Name = "retention-sweeper";

    private readonly IJournalRetention _journal;
    private readonly RetentionSettings _settings;
    private readonly IActorRef? _events;
    private readonly IActorRef? _canvases;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private long _purged;
    private long _sweeps;
    private long _failedSweeps;
    private long _vacuums;
    private DateTimeOffset? _lastSweep;
    private int _lastBatch;
    private int _due;
    private string? _lastFailure;
    private bool _maintaining;

    public ResultSweeper(IJournalRetention journal, RetentionSettings settings, IActorRef? events, IActorRef? canvases = null)
    {
        _journal = journal;
        _settings = settings;
        _events = events;
        _canvases = canvases;
        Receive<SweepDue>(_ => Sweep());
        Receive<Swept>(OnSwept);
        Receive<MaintenanceDue>(_ => Maintain());
        Receive<Maintained>(OnMaintained);
        Receive<GetRetentionStats>(_ => Sender.Tell(new RetentionStats(_purged, _sweeps, _failedSweeps, _lastSweep, _lastBatch, _due, _vacuums, _lastFailure)));
    }

    /// <param name="canvases">The canvas region, which due canvases are expired through (null: canvas ids are purged as tasks are).</param>
    public static Props Props(IJournalRetention journal, RetentionSettings settings, IActorRef? events, IActorRef? canvases = null) =>
        FactoryProps.Of(() => new ResultSweeper(journal, settings, events, canvases));

    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    protected override void PreStart()
    {
        // The first sweep soon after start: results that expired while no node ran are due at once.
        Timers.StartSingleTimer(SweepDue.Instance, SweepDue.Instance, _settings.SweepInterval);
        Timers.StartPeriodicTimer(MaintenanceDue.Instance, MaintenanceDue.Instance, _settings.MaintenanceInterval);
    }

    /// <summary>One sweep at a time: the next is timed from the end of this one, so a slow journal is never piled on.</summary>
    private void Sweep()
    {
        var now = Now;
        SweepAsync(now).PipeTo(Self, success: swept => swept, failure: e => new Swept(0, 0, 0, e));
    }

    private async Task<Swept> SweepAsync(DateTimeOffset now)
    {
        int purged = 0, batches = 0, lastBatch = 0;
        // Canvases that could not be expired in this sweep: they stay due, and are skipped until the next sweep.
        var leftOver = new HashSet<string>(StringComparer.Ordinal);
        Exception? canvasFailure = null;
        while (batches < _settings.MaxBatchesPerSweep)
        {
            var due = (await _journal.DueAsync(now, _settings.BatchSize + leftOver.Count).ConfigureAwait(false))
                .Where(id => !leftOver.Contains(id)).Take(_settings.BatchSize).ToArray();
            lastBatch = due.Length;
            if (due.Length == 0)
                break;
            var canvases = _canvases is null ? [] : due.Where(IsCanvas).ToArray();
            var tasks = canvases.Length == 0 ? due : due.Where(id => !IsCanvas(id)).ToArray();
            if (tasks.Length > 0)
            {
                await _journal.PurgeAsync(tasks).ConfigureAwait(false);
                ResultPurger.Announce(_events, tasks);
                purged += tasks.Length;
            }
            foreach (var expired in await ExpireCanvasesAsync(canvases).ConfigureAwait(false))
            {
                if (expired.Failure is null)
                    purged += 1 + expired.Members;
                else
                {
                    leftOver.Add(expired.PersistenceId);
                    canvasFailure ??= expired.Failure;
                }
            }
            batches++;
            if (due.Length < _settings.BatchSize)
                break;
        }
        return new Swept(purged, batches, lastBatch == _settings.BatchSize ? _settings.BatchSize : 0, canvasFailure);
    }

    private static readonly string CanvasPrefix = Canvas.CanvasEntity.PersistenceIdOf("");

    private static bool IsCanvas(string persistenceId) => persistenceId.StartsWith(CanvasPrefix, StringComparison.Ordinal);

    /// <summary>A few at a time: each recovers its coordinator (its tree) and purges its members.</summary>
    private async Task<List<(string PersistenceId, int Members, Exception? Failure)>> ExpireCanvasesAsync(IReadOnlyList<string> persistenceIds)
    {
        var outcomes = new List<(string, int, Exception?)>(persistenceIds.Count);
        foreach (var chunk in persistenceIds.Chunk(CanvasesAtOnce))
            outcomes.AddRange(await Task.WhenAll(chunk.Select(ExpireCanvasAsync)).ConfigureAwait(false));
        return outcomes;
    }

    private const int CanvasesAtOnce = 8;

    private async Task<(string, int, Exception?)> ExpireCanvasAsync(string persistenceId)
    {
        var canvasId = persistenceId[CanvasPrefix.Length..];
        try
        {
            var answer = await _canvases!.Ask<object>(new ExpireCanvas(canvasId, _settings.BatchSize), _settings.CanvasTimeout).ConfigureAwait(false);
            return answer switch
            {
                CanvasExpired expired => (persistenceId, expired.MembersPurged, null),
                Tasks.CommandFailed failed => (persistenceId, 0, new InvalidOperationException(failed.Reason)),
                _ => (persistenceId, 0, new InvalidOperationException($"canvas {canvasId} answered {answer.GetType().Name} to {nameof(ExpireCanvas)}")),
            };
        }
        catch (AskTimeoutException)
        {
            return (persistenceId, 0, new TimeoutException($"canvas {canvasId} was not expired within {_settings.CanvasTimeout}; the next sweep asks again"));
        }
    }

    private void OnSwept(Swept swept)
    {
        _sweeps++;
        _lastSweep = Now;
        _purged += swept.Purged;
        _lastBatch = swept.Purged;
        _due = swept.Remaining;
        if (swept.Failure is { } failure)
        {
            _failedSweeps++;
            _lastFailure = failure.Message;
            _log.Warning("Retention: a sweep failed after purging {0} results; the next sweep tries again: {1}", swept.Purged, failure.Message);
        }
        else if (swept.Purged > 0)
            _log.Debug("Retention: purged {0} expired results in {1} batches", swept.Purged, swept.Batches);
        Timers.StartSingleTimer(SweepDue.Instance, SweepDue.Instance, _settings.SweepInterval);
    }

    private void Maintain()
    {
        if (_maintaining)
            return;
        _maintaining = true;
        _journal.MaintainAsync(Now).PipeTo(Self, success: done => new Maintained(done, null), failure: e => new Maintained(null, e));
    }

    private void OnMaintained(Maintained maintained)
    {
        _maintaining = false;
        if (maintained.Failure is { } failure)
            _log.Warning("Retention: storage maintenance failed: {0}", failure.Message);
        else
        {
            _vacuums++;
            _log.Debug("Retention: {0}", maintained.Done);
        }
    }

    private sealed class SweepDue
    {
        public static readonly SweepDue Instance = new();
    }

    private sealed class MaintenanceDue
    {
        public static readonly MaintenanceDue Instance = new();
    }

    /// <summary><see cref="Remaining"/>: at least this many more were due when the sweep stopped (its last batch was full).</summary>
    private sealed record Swept(int Purged, int Batches, int Remaining, Exception? Failure);

    private sealed record Maintained(string? Done, Exception? Failure);
}
