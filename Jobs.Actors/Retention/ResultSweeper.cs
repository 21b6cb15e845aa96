using Akka.Actor;
using Akka.Event;

namespace Jobs.Actors.Retention;

/// <summary>
/// Purges expired results, one per cluster (a singleton on the shard role). Every sweep interval it reads the ids due
/// by now from the journal's expiry index, lowest due first, a batch at a time (at most a few batches per sweep, so a
/// backlog is spread over sweeps), and purges each batch. It holds nothing of its own: the index is durable and
/// written with the results, and a purge is idempotent, so a sweep cut short (a crash, a hand-over) is simply done
/// again by the next one. Its counters are in <see cref="RetentionStats"/>.
/// </summary>
public sealed class ResultSweeper : ReceiveActor, IWithTimers
{
    public const string Name = "retention-sweeper";

    private readonly IJournalRetention _journal;
    private readonly RetentionSettings _settings;
    private readonly IActorRef? _events;
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

    public ResultSweeper(IJournalRetention journal, RetentionSettings settings, IActorRef? events)
    {
        _journal = journal;
        _settings = settings;
        _events = events;
        Receive<SweepDue>(_ => Sweep());
        Receive<Swept>(OnSwept);
        Receive<MaintenanceDue>(_ => Maintain());
        Receive<Maintained>(OnMaintained);
        Receive<GetRetentionStats>(_ => Sender.Tell(new RetentionStats(_purged, _sweeps, _failedSweeps, _lastSweep, _lastBatch, _due, _vacuums, _lastFailure)));
    }

    public static Props Props(IJournalRetention journal, RetentionSettings settings, IActorRef? events) =>
        FactoryProps.Of(() => new ResultSweeper(journal, settings, events));

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
        while (batches < _settings.MaxBatchesPerSweep)
        {
            var due = await _journal.DueAsync(now, _settings.BatchSize).ConfigureAwait(false);
            lastBatch = due.Count;
            if (due.Count == 0)
                break;
            await _journal.PurgeAsync(due).ConfigureAwait(false);
            ResultPurger.Announce(_events, due);
            purged += due.Count;
            batches++;
            if (due.Count < _settings.BatchSize)
                break;
        }
        return new Swept(purged, batches, lastBatch == _settings.BatchSize ? _settings.BatchSize : 0, null);
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
