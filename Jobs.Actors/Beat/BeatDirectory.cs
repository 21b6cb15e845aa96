using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Jobs.Actors.Hosting;

namespace Jobs.Actors.Beat;

/// <summary>
/// One partition of the beat's directory, sharded and persisted as <c>beat-directory-{n}</c>: it lists the entries
/// whose names hash to it (for <c>GET /api/schedules</c> without waking any entry) and is the durable reminder of the
/// sleeping ones: it journals when each must wake and wakes it then, again and again until the entry answers. So a far-off
/// or paused entry costs a record here, not a live actor. After a restart it wakes every entry it believes awake, which
/// is harmless (waking an awake entry changes nothing) and makes up for progress it kept only in memory.
/// </summary>
public sealed class BeatDirectory : ReceivePersistentActor, IWithTimers
{
    private readonly int _partition;
    private readonly Func<IActorRef?> _entries;
    private readonly BeatSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, DirectoryRecord> _records = new(StringComparer.Ordinal);

    /// <summary>Sleeping entries by wake-up time; an entry woken but not yet answering, by when it was last woken.</summary>
    private readonly SortedSet<(DateTimeOffset At, string Name)> _wakes = new();

    private readonly Dictionary<string, DateTimeOffset> _wakeOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _woken = new(StringComparer.Ordinal);
    private int _eventsSinceSnapshot;

    /// <param name="entries">The beat shard region, looked up when first needed: the two regions start one after the other.</param>
    public BeatDirectory(int partition, Func<IActorRef?> entries, BeatSettings settings)
    {
        _partition = partition;
        _entries = entries;
        _settings = settings;
        PersistenceId = "beat-directory-" + partition;

        Recover<SnapshotOffer>(offer =>
        {
            foreach (var record in ((DirectorySnapshot)offer.Snapshot).Entries)
                _records[record.View.Name] = record;
        });
        Recover<DirectoryEntryListed>(e => _records[e.Record.View.Name] = e.Record);
        Recover<DirectoryEntryUnlisted>(e => _records.Remove(e.EntryName));
        Recover<RecoveryCompleted>(_ =>
        {
            var now = Now;
            foreach (var record in _records.Values)
            {
                if (record.Asleep)
                    Remind(record.View.Name, record.WakeAt);
                else
                    Remind(record.View.Name, now);
            }
            WakeDue();
        });

        Command<ListEntry>(OnList);
        Command<UnlistEntry>(OnUnlist);
        Command<EntryWoken>(woken => _woken.Remove(woken.EntryName));
        Command<GetDirectoryEntries>(_ => Sender.Tell(new DirectoryEntries(_partition, _records.Values.ToArray())));
        Command<WakeNow>(_ => WakeDue());
        Command<StopEntity>(_ => Context.Stop(Self));
        Command<SaveSnapshotSuccess>(saved =>
        {
            DeleteMessages(saved.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failed => _log.Warning("Beat directory {0}: snapshot failed: {1}", _partition, failed.Cause.Message));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failed => _log.Warning("Beat directory {0}: deleting events failed: {1}", _partition, failed.Cause.Message));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failed => _log.Warning("Beat directory {0}: deleting snapshots failed: {1}", _partition, failed.Cause.Message));
    }

    public static Props Props(int partition, Func<IActorRef?> entries, BeatSettings settings) =>
        FactoryProps.Of(() => new BeatDirectory(partition, entries, settings));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    private DateTimeOffset Now => Context.System.Scheduler.Now;

    /// <summary>The partition of an entry: a hash of its name that is the same in every process.</summary>
    public static int PartitionOf(string name, int partitions)
    {
        var hash = 2166136261u;
        foreach (var c in name)
        {
            hash ^= c;
            hash *= 16777619u;
        }
        return (int)(hash % (uint)partitions);
    }

    /// <summary>Journals only what changed durably (definition, pause, sleep and wake-up time); progress stays in memory.</summary>
    private void OnList(ListEntry list)
    {
        var record = new DirectoryRecord(list.View, list.WakeAt, list.Asleep);
        var name = list.View.Name;
        var replyTo = Sender;
        if (_records.TryGetValue(name, out var known) && SameDurably(known, record))
        {
            Listed(record);
            if (list.Ack)
                replyTo.Tell(new EntryListed(name, list.Correlation));
            return;
        }
        Persist(new DirectoryEntryListed(record), e =>
        {
            Listed(e.Record);
            if (list.Ack)
                replyTo.Tell(new EntryListed(name, list.Correlation));
            MaybeSnapshot();
        });
    }

    private void Listed(DirectoryRecord record)
    {
        var name = record.View.Name;
        _records[name] = record;
        if (record.Asleep)
        {
            _woken.Remove(name);
            Remind(name, record.WakeAt);
        }
        else
        {
            // It speaks, so it is awake: no wake-up is owed.
            _woken.Remove(name);
            Remind(name, null);
        }
        ArmTimer();
    }

    private void OnUnlist(UnlistEntry unlist)
    {
        var replyTo = Sender;
        if (!_records.ContainsKey(unlist.EntryName))
        {
            replyTo.Tell(new EntryListed(unlist.EntryName, unlist.Correlation));
            return;
        }
        Persist(new DirectoryEntryUnlisted(unlist.EntryName), e =>
        {
            _records.Remove(e.EntryName);
            Remind(e.EntryName, null);
            _woken.Remove(e.EntryName);
            replyTo.Tell(new EntryListed(e.EntryName, unlist.Correlation));
            MaybeSnapshot();
        });
    }

    private static bool SameDurably(DirectoryRecord a, DirectoryRecord b) =>
        a.Asleep == b.Asleep && a.WakeAt == b.WakeAt && a.View.Paused == b.View.Paused && a.View.Source == b.View.Source &&
        a.View.Generation == b.View.Generation && a.View.Definition?.Fingerprint() == b.View.Definition?.Fingerprint();

    private void Remind(string name, DateTimeOffset? at)
    {
        if (_wakeOf.Remove(name, out var previous))
            _wakes.Remove((previous, name));
        if (at is { } when)
        {
            _wakeOf[name] = when;
            _wakes.Add((when, name));
        }
    }

    /// <summary>Wakes the entries that are due, and again those woken earlier that have not answered.</summary>
    private void WakeDue()
    {
        var now = Now;
        var entries = _entries();
        while (_wakes.Count > 0 && _wakes.Min.At <= now)
        {
            var (_, name) = _wakes.Min;
            Remind(name, null);
            _woken[name] = DateTimeOffset.MinValue;
        }
        foreach (var (name, at) in _woken.ToArray())
        {
            if (now - at < _settings.ResendInterval)
                continue;
            _woken[name] = now;
            entries?.Tell(new WakeEntry(name));
        }
        ArmTimer();
    }

    private void ArmTimer()
    {
        var now = Now;
        DateTimeOffset? next = _wakes.Count > 0 ? _wakes.Min.At : null;
        if (_woken.Count > 0)
        {
            var retry = now + _settings.ResendInterval;
            next = next is { } n && n < retry ? n : retry;
        }
        if (next is not { } at)
        {
            Timers.Cancel(WakeNow.Instance);
            return;
        }
        // Re-checked at least hourly, so a wake-up days away never rests on one very long timer.
        var delay = at - now;
        delay = delay < TimeSpan.Zero ? TimeSpan.Zero : delay > TimeSpan.FromHours(1) ? TimeSpan.FromHours(1) : delay;
        Timers.StartSingleTimer(WakeNow.Instance, WakeNow.Instance, delay);
    }

    private void MaybeSnapshot()
    {
        if (++_eventsSinceSnapshot < _settings.SnapshotEvery * 10)
            return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(new DirectorySnapshot(_records.Values.ToArray()));
    }

    private sealed class WakeNow
    {
        public static readonly WakeNow Instance = new();
    }
}
