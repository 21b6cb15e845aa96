using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;

namespace Jobs.Actors.Monitoring;

/// <summary>
/// Dead letters by message type since the node started, for <c>/metrics</c>. A lost <c>CompleteAttempt</c>, <c>RunTasks</c>
/// or <c>TaskResult</c> surfaces only here: the log shows the first few (<c>akka.log-dead-letters</c>) and then stays quiet.
/// </summary>
public sealed class DeadLetterCounts
{
    private readonly ConcurrentDictionary<(string Type, string Kind), long> _counts = new();

    /// <summary>Subscribes a counting actor to every kind of dead letter on <paramref name="system"/>'s event stream.</summary>
    public static DeadLetterCounts Start(ActorSystem system)
    {
        var counts = new DeadLetterCounts();
        var counter = system.ActorOf(Props.Create(() => new Counter(counts)), "dead-letter-counter");
        system.EventStream.Subscribe(counter, typeof(AllDeadLetters));
        return counts;
    }

    public void Record(AllDeadLetters letter)
    {
        var kind = letter switch
        {
            SuppressedDeadLetter => "suppressed",
            Dropped => "dropped",
            _ => "dead",
        };
        _counts.AddOrUpdate((TypeName(letter.Message), kind), 1, (_, n) => n + 1);
    }

    /// <summary>The counts as Prometheus text, one counter per message type and kind.</summary>
    public void WriteTo(StringBuilder text)
    {
        text.AppendLine("# HELP jobs_dead_letters_total Messages this node could not deliver, by message type and kind (dead, suppressed, dropped).");
        text.AppendLine("# TYPE jobs_dead_letters_total counter");
        foreach (var ((type, kind), count) in _counts.OrderBy(c => c.Key.Type, StringComparer.Ordinal).ThenBy(c => c.Key.Kind, StringComparer.Ordinal))
            text.Append("jobs_dead_letters_total{type=\"").Append(TaskMetrics.Escape(type)).Append("\",kind=\"").Append(kind).Append("\"} ").Append(count).Append('\n');
    }

    public long Count(string type) => _counts.Where(c => c.Key.Type == type).Sum(c => c.Value);

    /// <summary>The message inside the envelopes it travelled in: a sharded or selected message is counted by what it carries.</summary>
    private static string TypeName(object message) => message switch
    {
        ShardingEnvelope envelope => TypeName(envelope.Message),
        ActorSelectionMessage selection => TypeName(selection.Message),
        _ => message.GetType().Name,
    };

    private sealed class Counter : ReceiveActor
    {
        public Counter(DeadLetterCounts counts) => Receive<AllDeadLetters>(counts.Record);
    }
}
