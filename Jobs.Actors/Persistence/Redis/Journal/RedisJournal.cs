using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;
using Akka.Persistence.Journal;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis.Journal;

/// <summary>
/// An Akka.Persistence journal on Redis that batches across persistent actors. Writes, replays, deletes and purges
/// wait in one queue in arrival order; whenever fewer than <c>max-flushes-in-flight</c> flushes are running, the
/// queue's head (at most <c>max-batch-operations</c> operations, ~<c>max-batch-bytes</c>) goes out as one Lua script
/// per partition, pipelined on the shared connection. There is no linger timer: a lone write on an idle journal leaves
/// at once, and under load whatever arrived while earlier flushes ran goes out next. Replies go straight to the
/// actors from the completed flush (per-actor order holds: an actor has one write in flight). Each script call goes
/// through the circuit breaker.
/// <para>
/// Answers: each <see cref="AtomicWrite"/> is stored whole or not at all. A payload that does not serialize (or an
/// index operation that is not valid) rejects its own write only (<see cref="WriteMessageRejected"/>, the actor goes
/// on). A sequence number at or below the stored highest (a second writer of the id) fails its own request only,
/// having changed nothing (<see cref="ConcurrentWriterException"/>). A Redis or transport error fails every write of
/// the batch with <see cref="WriteOutcomeUnknownException"/>: the script may or may not have run, and recovery reads
/// what was stored. An open circuit breaker or a full queue fails writes that were never sent.
/// </para>
/// Replays are answered with the highest sequence number and the first page from the same script call, so recovering
/// an existing actor is one round trip and many new actors share one. No replay filter is needed
/// (<c>replay-filter.mode = off</c>): the write script's sequence guard already keeps a second writer's events out.
/// Key layout: <see cref="RedisKeys"/>; scripts: <see cref="JournalScripts"/>.
/// </summary>
public sealed partial class RedisJournal : WriteJournalBase
{
    private readonly RedisPlugin _redis;
    private readonly RedisKeys _keys;
    private readonly EventRecords _records;
    private readonly RedisJournalSettings _settings;
    private readonly CircuitBreaker _breaker;
    private readonly string _channel;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<JournalRequest> _queue = new();
    private int _inFlight;

    public RedisJournal(Config config)
    {
        _redis = new RedisPlugin(Context.System, config);
        _keys = _redis.Keys;
        _records = new EventRecords(Context.System);
        _settings = RedisJournalSettings.Create(config);
        _breaker = new CircuitBreaker(Context.System.Scheduler,
            config.GetInt("circuit-breaker.max-failures", 5),
            config.GetTimeSpan("circuit-breaker.call-timeout", TimeSpan.FromSeconds(10)),
            config.GetTimeSpan("circuit-breaker.reset-timeout", TimeSpan.FromSeconds(5)));
        _channel = _keys.Notifications.ToString();
    }

    protected override void PreStart()
    {
        // Said once at start; every request then fails with the same message until the journal is pointed elsewhere.
        var log = _log;
        _redis.DatabaseAsync().ContinueWith(t =>
        {
            if (t.Exception?.InnerException is RedisLayoutException refused)
                log.Error(refused, "The Redis journal cannot start: {0}", refused.Message);
        }, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case WriteMessages write:
                if (PrepareWrite(write) is { } prepared)
                    Accept(prepared);
                return true;
            case ReplayMessages replay:
                Accept(new ReplayRequest(replay, _keys.PartitionOf(replay.PersistenceId), _redis.Settings.ReplayPageSize));
                return true;
            case DeleteMessagesTo delete:
                Accept(new DeleteRequest(delete, _keys.PartitionOf(delete.PersistenceId), Self));
                return true;
            case PurgePersistenceIds purge:
                Accept(new PurgeRequest(purge, purge.PersistenceIds.Select(id => new PurgeOp(_keys.PartitionOf(id), id)).ToArray(), Sender));
                return true;
            case Flushed:
                _inFlight--;
                TryFlush();
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Serializes the request's atomic writes on arrival (so a rejection is known before anything is sent and the
    /// batch's size is known) and groups them per persistence id. Null when nothing needs Redis: every write was
    /// rejected or the request only loops messages back, and it has been answered already.
    /// </summary>
    private WriteRequest? PrepareWrite(WriteMessages message)
    {
        var timestamp = DateTime.UtcNow.Ticks;
        var envelopes = message.Messages as IReadOnlyList<IPersistentEnvelope> ?? message.Messages.ToArray();
        var rejections = new Exception?[envelopes.Count];
        var units = new List<WriteOp>(1);
        var atomicWrites = 0;
        for (var i = 0; i < envelopes.Count; i++)
        {
            if (envelopes[i] is not AtomicWrite write)
                continue;
            atomicWrites++;
            var representations = (IImmutableList<IPersistentRepresentation>)write.Payload;
            var events = new StoredEvent[representations.Count];
            try
            {
                for (var e = 0; e < events.Length; e++)
                {
                    var p = representations[e];
                    // Stamped, and without the sender (as WriteJournalBase.PreparePersistentBatch does): it is not part of the event.
                    var stamped = new Persistent(p.Payload, p.SequenceNr, p.PersistenceId, p.Manifest, p.IsDeleted, ActorRefs.NoSender, p.WriterGuid, timestamp);
                    events[e] = _records.ToBinary(AdaptToJournal(stamped));
                }
            }
            catch (Exception e)
            {
                rejections[i] = e;
                continue;
            }
            UnitFor(units, write.PersistenceId).Add(write.LowestSequenceNr, write.HighestSequenceNr, events);
        }
        var request = new WriteRequest(message, envelopes, rejections, units, atomicWrites, Self);
        if (units.Count > 0)
            return request;
        request.Complete(this);
        return null;
    }

    private WriteOp UnitFor(List<WriteOp> units, string persistenceId)
    {
        foreach (var unit in units)
        {
            if (unit.PersistenceId == persistenceId)
                return unit;
        }
        var added = new WriteOp(_keys.PartitionOf(persistenceId), persistenceId);
        units.Add(added);
        return added;
    }

    private void Accept(JournalRequest request)
    {
        if (_queue.Count >= _settings.MaxBufferedRequests)
        {
            request.Fail(new JournalOverloadedException(_queue.Count), this);
            return;
        }
        _queue.Enqueue(request);
        TryFlush();
    }

    private void TryFlush()
    {
        while (_inFlight < _settings.MaxFlushesInFlight && _queue.Count > 0)
        {
            var chunk = new List<JournalRequest> { _queue.Dequeue() };
            var operations = chunk[0].Operations;
            var bytes = chunk[0].Bytes;
            while (_queue.TryPeek(out var next) && operations + next.Operations <= _settings.MaxBatchOperations && bytes + next.Bytes <= _settings.MaxBatchBytes)
            {
                chunk.Add(_queue.Dequeue());
                operations += next.Operations;
                bytes += next.Bytes;
            }
            _inFlight++;
            _ = FlushAsync(chunk, Self);
        }
    }

    /// <summary>One script call per partition, its operations in queue order.</summary>
    private List<ScriptBatch> BuildScripts(List<JournalRequest> chunk)
    {
        var batches = new List<ScriptBatch>(1);
        foreach (var request in chunk)
        {
            foreach (var op in request.Ops)
            {
                ScriptBatch? batch = null;
                foreach (var candidate in batches)
                {
                    if (candidate.Partition == op.Partition)
                        batch = candidate;
                }
                if (batch is null)
                    batches.Add(batch = new ScriptBatch(_keys, op.Partition, _channel));
                batch.Add(op, _keys);
            }
        }
        return batches;
    }

    private async Task FlushAsync(List<JournalRequest> chunk, IActorRef self)
    {
        try
        {
            var connected = false;
            try
            {
                // Before the first await: still on the journal's thread.
                var batches = BuildScripts(chunk);
                var database = await _redis.DatabaseAsync().ConfigureAwait(false);
                connected = true;
                await Task.WhenAll(batches.Select(batch => ExecuteAsync(database, batch))).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Nothing of the chunk was sent (ExecuteAsync answers its own failures).
                var cause = connected || e is RedisLayoutException ? e : new JournalUnavailableException(e);
                foreach (var request in chunk)
                {
                    foreach (var op in request.Ops)
                        op.Failure ??= cause;
                }
            }
            foreach (var request in chunk)
            {
                try
                {
                    request.Complete(this);
                }
                catch (Exception e)
                {
                    _log.Error(e, "The Redis journal could not answer {0}", request);
                }
            }
        }
        finally
        {
            self.Tell(Flushed.Instance);
        }
    }

    private async Task ExecuteAsync(IDatabase database, ScriptBatch batch)
    {
        try
        {
            var script = batch.ReadOnly ? JournalScripts.Replays : JournalScripts.Batch;
            var keys = batch.Keys.ToArray();
            var args = batch.Args.ToArray();
            var flags = batch.ReadOnly ? CommandFlags.None : CommandFlags.DemandMaster;
            var result = await _breaker.WithCircuitBreaker(_ => database.ScriptEvaluateAsync(script, keys, args, flags)).ConfigureAwait(false);
            batch.Completed((RedisResult[])result!);
        }
        catch (OpenCircuitException e)
        {
            batch.Failed(e);
        }
        catch (Exception e)
        {
            batch.Failed(new WriteOutcomeUnknownException(batch.Ops.Count, batch.Partition, e));
        }
    }

    private sealed class Flushed
    {
        public static readonly Flushed Instance = new();
    }
}

/// <summary>A sequence number at or below the stored highest: another writer of this persistence id is (or was) active.</summary>
public sealed class ConcurrentWriterException(string persistenceId, long sequenceNr, long highest)
    : Exception($"sequence number {sequenceNr} of {persistenceId} is already written (highest {highest}): another writer of this persistence id is active; nothing of this write was stored");

/// <summary>
/// The batch this write was in failed at Redis or on the way: the script may or may not have run, so whether the
/// write was stored is unknown. Recovering the persistent actor reads what was stored.
/// </summary>
public sealed class WriteOutcomeUnknownException(int operations, int partition, Exception cause)
    : Exception($"the Redis journal's batch of {operations} operations for partition {partition} failed ({cause.Message}); whether this write was stored is unknown, recovery reads what was", cause);

/// <summary>Redis could not be reached for this batch, so nothing of it was sent: the writes were not stored.</summary>
public sealed class JournalUnavailableException(Exception cause)
    : Exception($"the Redis journal could not reach Redis ({cause.Message}); nothing of this batch was sent", cause);

/// <summary>The journal's queue is full (<c>max-buffered-requests</c>); the request was refused without being sent.</summary>
public sealed class JournalOverloadedException(int waiting)
    : Exception($"the Redis journal has {waiting} requests waiting (max-buffered-requests); this one was refused and not sent");
