using Akka.Actor;
using Akka.Persistence;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence.Redis.Journal;

// The queued requests, the script operations they become, and how each is answered once its flush returns.
// Complete and Fail run on the thread that finished the flush, not on the journal actor: they only read their own
// operations' results and tell actors.
public sealed partial class RedisJournal
{
    private abstract class JournalRequest
    {
        public abstract IReadOnlyList<JournalOp> Ops { get; }

        /// <summary>What the request weighs against <c>max-batch-operations</c>.</summary>
        public abstract int Operations { get; }

        /// <summary>What the request weighs against <c>max-batch-bytes</c>.</summary>
        public virtual long Bytes => 0;

        /// <summary>Answers from the results (or failures) of <see cref="Ops"/>.</summary>
        public abstract void Complete(RedisJournal journal);

        /// <summary>Answers a request refused before it was sent.</summary>
        public void Fail(Exception cause, RedisJournal journal)
        {
            foreach (var op in Ops)
                op.Failure = cause;
            Complete(journal);
        }
    }

    private abstract class JournalOp(int partition)
    {
        public int Partition { get; } = partition;

        public RedisResult? Result { get; set; }

        public Exception? Failure { get; set; }

        public virtual bool IsRead => false;

        public abstract void AppendTo(ScriptBatch batch, RedisKeys keys);
    }

    /// <summary>The KEYS and ARGV of one script call (see <see cref="JournalScripts"/>) and the operations in it.</summary>
    private sealed class ScriptBatch
    {
        private Dictionary<RedisKey, int>? _shared;

        public ScriptBatch(RedisKeys keys, int partition, string channel)
        {
            Partition = partition;
            Keys = [keys.PersistenceIds(partition), keys.PersistenceIdCounter(partition)];
            Args = [channel, partition];
        }

        public int Partition { get; }

        public List<RedisKey> Keys { get; }

        public List<RedisValue> Args { get; }

        public List<JournalOp> Ops { get; } = new();

        /// <summary>Only replays: the read-only script, which Redis runs even when it refuses writes.</summary>
        public bool ReadOnly { get; private set; } = true;

        public void Add(JournalOp op, RedisKeys keys)
        {
            Ops.Add(op);
            ReadOnly &= op.IsRead;
            op.AppendTo(this, keys);
        }

        /// <summary>Adds a key and returns its index in KEYS.</summary>
        public int Key(RedisKey key)
        {
            Keys.Add(key);
            return Keys.Count;
        }

        /// <summary>A key many operations may name (a tag stream, an index): listed once.</summary>
        public int SharedKey(RedisKey key)
        {
            _shared ??= new Dictionary<RedisKey, int>();
            if (!_shared.TryGetValue(key, out var index))
                _shared[key] = index = Key(key);
            return index;
        }

        public void Completed(RedisResult[] results)
        {
            if (results.Length != Ops.Count)
            {
                Failed(new InvalidOperationException($"the journal script answered {results.Length} results for {Ops.Count} operations"));
                return;
            }
            for (var i = 0; i < results.Length; i++)
                Ops[i].Result = results[i];
        }

        public void Failed(Exception cause)
        {
            foreach (var op in Ops)
                op.Failure = cause;
        }
    }

    /// <summary>The atomic writes of one request for one persistence id, checked and applied together.</summary>
    private sealed class WriteOp(int partition, string persistenceId) : JournalOp(partition)
    {
        private readonly List<(long First, long Last)> _writes = new(1);
        private readonly List<StoredEvent> _events = new(1);

        public string PersistenceId => persistenceId;

        public int Writes => _writes.Count;

        public long Bytes { get; private set; }

        public void Add(long first, long last, StoredEvent[] events)
        {
            _writes.Add((first, last));
            foreach (var e in events)
            {
                _events.Add(e);
                Bytes += e.Element.Length;
            }
        }

        public override void AppendTo(ScriptBatch batch, RedisKeys keys)
        {
            var args = batch.Args;
            args.Add("W");
            args.Add(batch.Key(keys.Events(Partition, persistenceId)));
            args.Add(batch.Key(keys.Highest(Partition, persistenceId)));
            args.Add(persistenceId);
            args.Add(_writes.Count);
            foreach (var (first, last) in _writes)
            {
                args.Add(first);
                args.Add(last);
            }
            args.Add(_events.Count);
            int tags = 0, operations = 0;
            foreach (var e in _events)
            {
                args.Add(e.Element);
                tags += e.Tags.Count;
                operations += e.Operations.Count;
            }
            args.Add(tags);
            foreach (var e in _events)
            {
                foreach (var tag in e.Tags)
                {
                    args.Add(batch.SharedKey(keys.Tag(Partition, tag)));
                    args.Add(e.SequenceNr);
                }
            }
            args.Add(operations);
            foreach (var e in _events)
            {
                foreach (var operation in e.Operations)
                {
                    args.Add(operation.Kind switch
                    {
                        IndexOperationKind.AddToSet => "sa",
                        IndexOperationKind.RemoveFromSet => "sr",
                        IndexOperationKind.AddToSortedSet => "za",
                        _ => "zr",
                    });
                    args.Add(batch.SharedKey(operation.IsSortedSet ? keys.SortedSetIndex(Partition, operation.Index) : keys.SetIndex(Partition, operation.Index)));
                    args.Add(operation.Member);
                    args.Add(operation.Kind == IndexOperationKind.AddToSortedSet ? operation.Score : RedisValue.EmptyString);
                }
            }
        }

        /// <summary>Null when stored, else why not.</summary>
        public Exception? Outcome =>
            Failure ?? (Result is { Resp2Type: ResultType.Array } conflict
                ? new ConcurrentWriterException(persistenceId, _writes[0].First, (long)conflict[0])
                : null);
    }

    private sealed class WriteRequest : JournalRequest
    {
        private readonly WriteMessages _message;
        private readonly IReadOnlyList<IPersistentEnvelope> _envelopes;
        private readonly Exception?[] _rejections;
        private readonly List<WriteOp> _units;
        private readonly int _atomicWrites;
        private readonly IActorRef _journal;

        public WriteRequest(WriteMessages message, IReadOnlyList<IPersistentEnvelope> envelopes, Exception?[] rejections, List<WriteOp> units,
            int atomicWrites, IActorRef journal)
        {
            _message = message;
            _envelopes = envelopes;
            _rejections = rejections;
            _units = units;
            _atomicWrites = atomicWrites;
            _journal = journal;
            foreach (var unit in units)
            {
                Operations += unit.Writes;
                Bytes += unit.Bytes;
            }
        }

        public override IReadOnlyList<JournalOp> Ops => _units;

        public override int Operations { get; }

        public override long Bytes { get; }

        public override void Complete(RedisJournal _)
        {
            var actor = _message.PersistentActor;
            var instance = _message.ActorInstanceId;
            Exception? failed = null;
            foreach (var unit in _units)
                failed ??= unit.Outcome;
            actor.Tell(failed is null ? WriteMessagesSuccessful.Instance : new WriteMessagesFailed(failed, _atomicWrites), _journal);
            for (var i = 0; i < _envelopes.Count; i++)
            {
                if (_envelopes[i] is not AtomicWrite write)
                {
                    actor.Tell(new LoopMessageSuccess(_envelopes[i].Payload, instance), _envelopes[i].Sender);
                    continue;
                }
                var rejected = _rejections[i];
                var outcome = rejected is null && failed is not null ? OutcomeOf(write.PersistenceId) : null;
                foreach (var p in (IEnumerable<IPersistentRepresentation>)write.Payload)
                {
                    object answer = rejected is not null ? new WriteMessageRejected(p, rejected, instance)
                        : outcome is not null ? new WriteMessageFailure(p, outcome, instance)
                        : new WriteMessageSuccess(p, instance);
                    // The writer's sender goes back with each answer: the persist handler sees it as Sender.
                    actor.Tell(answer, p.Sender);
                }
            }
        }

        private Exception? OutcomeOf(string persistenceId)
        {
            foreach (var unit in _units)
            {
                if (unit.PersistenceId == persistenceId)
                    return unit.Outcome;
            }
            return null;
        }
    }

    private sealed class ReplayOp(int partition, ReplayMessages replay, int limit) : JournalOp(partition)
    {
        public ReplayMessages Replay => replay;

        public int Limit => limit;

        public override bool IsRead => true;

        public override void AppendTo(ScriptBatch batch, RedisKeys keys)
        {
            batch.Args.Add("R");
            batch.Args.Add(batch.Key(keys.Events(Partition, replay.PersistenceId)));
            batch.Args.Add(batch.Key(keys.Highest(Partition, replay.PersistenceId)));
            batch.Args.Add(Math.Max(1, replay.FromSequenceNr));
            batch.Args.Add(replay.ToSequenceNr);
            batch.Args.Add(limit);
        }
    }

    private sealed class ReplayRequest(ReplayMessages replay, int partition, int pageSize) : JournalRequest
    {
        private readonly ReplayOp _op = new(partition, replay, (int)Math.Min(pageSize, replay.Max));

        public override IReadOnlyList<JournalOp> Ops => [_op];

        public override int Operations => 1;

        public override void Complete(RedisJournal journal)
        {
            var actor = replay.PersistentActor;
            if (_op.Failure is { } failure)
            {
                actor.Tell(new ReplayMessagesFailure(failure));
                return;
            }
            try
            {
                var result = (RedisResult[])_op.Result!;
                var highest = (long)result[0];
                long delivered = 0, next = 0;
                for (var i = 1; i < result.Length; i++)
                {
                    next = journal.Deliver((byte[])result[i]!, actor) + 1;
                    delivered++;
                }
                var to = Math.Min(replay.ToSequenceNr, highest);
                if (result.Length - 1 == _op.Limit && delivered < replay.Max && next <= to)
                    _ = journal.ReplayRestAsync(replay, next, to, replay.Max - delivered, highest);
                else
                    actor.Tell(new RecoverySuccess(highest));
            }
            catch (Exception e)
            {
                actor.Tell(new ReplayMessagesFailure(e));
            }
        }
    }

    /// <summary>Sends one stored event (adapted) to a recovering actor; returns its sequence number.</summary>
    private long Deliver(byte[] element, IActorRef actor)
    {
        var representation = _records.FromBinary(element);
        // Old records may still carry the deleted flag (as in every Akka.NET journal).
        if (!representation.IsDeleted)
        {
            foreach (var adapted in AdaptFromJournal(representation))
                actor.Tell(new ReplayedMessage(adapted), ActorRefs.NoSender);
        }
        return representation.SequenceNr;
    }

    /// <summary>A replay longer than the first page goes on page by page, outside the batches (like Akka's own journals).</summary>
    private async Task ReplayRestAsync(ReplayMessages replay, long from, long to, long remaining, long highest)
    {
        var actor = replay.PersistentActor;
        try
        {
            var database = await _redis.DatabaseAsync().ConfigureAwait(false);
            while (remaining > 0 && from <= to)
            {
                var take = (int)Math.Min(_redis.Settings.ReplayPageSize, remaining);
                var (_, page) = await JournalScripts.ReadPageAsync(database, _keys, replay.PersistenceId, from, to, take).ConfigureAwait(false);
                foreach (var element in page)
                {
                    from = Deliver((byte[])element!, actor) + 1;
                    remaining--;
                }
                if (page.Length < take)
                    break;
            }
            actor.Tell(new RecoverySuccess(highest));
        }
        catch (Exception e)
        {
            actor.Tell(new ReplayMessagesFailure(e));
        }
    }

    private sealed class DeleteOp(int partition, DeleteMessagesTo delete) : JournalOp(partition)
    {
        public override void AppendTo(ScriptBatch batch, RedisKeys keys)
        {
            batch.Args.Add("D");
            batch.Args.Add(batch.Key(keys.Events(Partition, delete.PersistenceId)));
            batch.Args.Add(batch.Key(keys.Highest(Partition, delete.PersistenceId)));
            batch.Args.Add(delete.ToSequenceNr);
        }
    }

    private sealed class DeleteRequest(DeleteMessagesTo delete, int partition, IActorRef journal) : JournalRequest
    {
        private readonly DeleteOp _op = new(partition, delete);

        public override IReadOnlyList<JournalOp> Ops => [_op];

        public override int Operations => 1;

        public override void Complete(RedisJournal _) =>
            delete.PersistentActor.Tell(
                _op.Failure is { } failure ? new DeleteMessagesFailure(failure, delete.ToSequenceNr) : new DeleteMessagesSuccess(delete.ToSequenceNr),
                journal);
    }

    private sealed class PurgeOp(int partition, string persistenceId) : JournalOp(partition)
    {
        public override void AppendTo(ScriptBatch batch, RedisKeys keys)
        {
            batch.Args.Add("P");
            batch.Args.Add(batch.Key(keys.Events(Partition, persistenceId)));
            batch.Args.Add(batch.Key(keys.Highest(Partition, persistenceId)));
            batch.Args.Add(batch.Key(keys.Snapshots(Partition, persistenceId)));
            batch.Args.Add(batch.SharedKey(keys.SortedSetIndex(Partition, JournalIndexes.Expiry)));
            batch.Args.Add(persistenceId);
        }
    }

    private sealed class PurgeRequest(PurgePersistenceIds purge, PurgeOp[] ops, IActorRef replyTo) : JournalRequest
    {
        public override IReadOnlyList<JournalOp> Ops => ops;

        public override int Operations => ops.Length;

        public override void Complete(RedisJournal _) =>
            replyTo.Tell(ops.Select(o => o.Failure).FirstOrDefault(f => f is not null) is { } failure
                ? new PurgePersistenceIdsFailed(purge.PersistenceIds, failure)
                : new PersistenceIdsPurged(purge.PersistenceIds));
    }
}
