using Akka.Actor;
using Akka.Event;
using Akka.Persistence.Query;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// Writes event batches into the <see cref="TaskIndex"/>, one transaction each, on the monitoring dispatcher (its
/// SQLite calls block). The only writer of the index file, so batches never contend with each other.
/// </summary>
public sealed class TaskIndexWriter : ReceiveActor
{
    private readonly TaskIndex _index;
    private readonly TaskMetrics _metrics;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public TaskIndexWriter(MonitoringSettings settings, TaskMetrics metrics)
    {
        _index = TaskIndex.Open(settings.IndexPath, settings.MaxResultLength, settings.MaxTasks);
        _metrics = metrics;
        Receive<WriteTaskEvents>(Write);
        Receive<GetIndexOffset>(get => Sender.Tell(new IndexOffset(_index.Offset(get.Stream))));
        Receive<FindLackingEvents>(Find);
        Receive<Retention.TasksExpired>(Forget);
    }

    /// <summary>
    /// Tasks purged lately: a journal page read before their purge may reach this writer after it, and must not bring
    /// them back into the index.
    /// </summary>
    private readonly RecentlyExpired _expired = new(DateTime.UtcNow);

    private void Forget(Retention.TasksExpired expired)
    {
        _expired.Add(expired.TaskIds, DateTime.UtcNow);
        try
        {
            _index.Forget(expired.TaskIds);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            _log.Error("Task index: {0} expired tasks were not removed: {1}", expired.TaskIds.Count, e.Message);
        }
    }

    public static Props Props(MonitoringSettings settings, TaskMetrics metrics) =>
        Akka.Actor.Props.Create(() => new TaskIndexWriter(settings, metrics)).WithDispatcher(MonitoringSettings.Dispatcher);

    /// <summary>Tasks purged lately are not lacking: their events are gone from the journal and stay out of the index.</summary>
    private void Find(FindLackingEvents find)
    {
        try
        {
            var lacking = _index.Lacking(find.Events);
            _expired.Age(DateTime.UtcNow);
            Sender.Tell(new LackingEvents(_expired.Count == 0 ? lacking : lacking.Where(i => !_expired.Contains(find.Events[i].Uuid)).ToArray()));
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            Sender.Tell(new Status.Failure(e));
        }
    }

    /// <summary>
    /// A batch the index cannot take (disk full, file removed) is reported, not retried here: a journal batch fails its
    /// ask, so the sweep ends and the next starts again from the stored offset; a live one is left to the next sweep.
    /// </summary>
    private void Write(WriteTaskEvents write)
    {
        _expired.Age(DateTime.UtcNow);
        if (_expired.Count > 0)
            write = write with { Events = write.Events.Where(e => !_expired.Contains(e.Uuid)).ToArray() };
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            foreach (var fresh in _index.Write(write.Events, write.Stream, write.Offset))
                _metrics.Record(fresh);
            if (MonitorEventSource.Log.IsEnabled())
                MonitorEventSource.Log.IndexWritten(write.Events.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Sender.Tell(write.Stream is null ? LiveEventsWritten.Instance : new IndexOffset(write.Offset ?? Offset.Sequence(0)));
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            _log.Error("Task index: a batch of {0} events was not written: {1}", write.Events.Count, e.Message);
            Sender.Tell(write.Stream is null ? LiveEventsWritten.Instance : new Status.Failure(e));
        }
    }

    protected override void PostStop() => _index.Dispose();
}

/// <summary>Answers the index's queries on the monitoring dispatcher, on a connection of its own.</summary>
public sealed class TaskIndexReader : ReceiveActor
{
    private readonly TaskIndex _index;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public TaskIndexReader(MonitoringSettings settings)
    {
        _index = TaskIndex.Open(settings.IndexPath, settings.MaxResultLength);
        Receive<GetTasks>(get => Answer(() => _index.Query(get.Query)));
        Receive<GetTaskTimeline>(get => Answer(() => _index.Timeline(get.Uuid)));
        Receive<GetTaskCounts>(_ => Answer(() => _index.Counts()));
    }

    public static Props Props(MonitoringSettings settings) =>
        Akka.Actor.Props.Create(() => new TaskIndexReader(settings)).WithDispatcher(MonitoringSettings.Dispatcher);

    /// <summary>A failed query is the asker's error to report, not a reason to restart the reader.</summary>
    private void Answer(Func<object> query)
    {
        try
        {
            Sender.Tell(query());
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            _log.Warning("Task index query failed: {0}", e.Message);
            Sender.Tell(new Status.Failure(e));
        }
    }

    protected override void PostStop() => _index.Dispose();
}

/// <summary>
/// A batch for the index; <see cref="Stream"/> and <see cref="Offset"/> are set when it came from the journal, and
/// the writer then answers <see cref="IndexOffset"/> once the batch (and the offset with it) is committed, else
/// <see cref="LiveEventsWritten"/>.
/// </summary>
public sealed record WriteTaskEvents(IReadOnlyList<TaskEvent> Events, string? Stream = null, Offset? Offset = null);

public sealed record LiveEventsWritten
{
    public static readonly LiveEventsWritten Instance = new();
}

public sealed record GetIndexOffset(string Stream);

/// <summary>Which of these journaled events (task id, sequence number) the index lacks: answered with <see cref="LackingEvents"/>.</summary>
public sealed record FindLackingEvents(IReadOnlyList<(string Uuid, long SequenceNr)> Events);

/// <summary>The positions, in the question's list, of the events the index lacks.</summary>
public sealed record LackingEvents(IReadOnlyList<int> Positions);

/// <summary>A journal offset: a <see cref="Sequence"/>, or a Redis journal's <see cref="Jobs.Actors.Persistence.Redis.Query.PartitionedOffset"/>.</summary>
public sealed record IndexOffset(Offset Value);
