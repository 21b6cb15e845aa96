using Akka.Actor;

namespace Jobs.Actors.Queues;

/// <summary>
/// One question to the <see cref="QueueHost"/> of every node, answered once all have replied or the timeout passed
/// (a node that does not answer in time is left out): a cluster-wide figure such as a queue's length, summed over
/// its partitions. A reply's node is its sender's address (this node's own for a local sender).
/// </summary>
public sealed class HostsQuery<TReply> : ReceiveActor
{
    private readonly List<(string Node, TReply Reply)> _replies = new();
    private readonly IReadOnlyList<IActorRef> _hosts;
    private readonly object _request;
    private readonly IActorRef _replyTo;
    private readonly Address _selfAddress;
    private readonly TimeSpan _timeout;
    private readonly Func<IReadOnlyList<(string Node, TReply Reply)>, object> _combine;

    public HostsQuery(object request, IReadOnlyList<IActorRef> hosts, IActorRef replyTo, Address selfAddress, TimeSpan timeout,
        Func<IReadOnlyList<(string Node, TReply Reply)>, object> combine)
    {
        _request = request;
        _hosts = hosts;
        _replyTo = replyTo;
        _selfAddress = selfAddress;
        _timeout = timeout;
        _combine = combine;
        Receive<TReply>(reply =>
        {
            var address = Sender.Path.Address.HasLocalScope ? _selfAddress : Sender.Path.Address;
            _replies.Add((address.ToString(), reply));
            if (_replies.Count >= _hosts.Count)
                Finish();
        });
        Receive<ReceiveTimeout>(_ => Finish());
    }

    public static Props Props(object request, IReadOnlyList<IActorRef> hosts, IActorRef replyTo, Address selfAddress, TimeSpan timeout,
        Func<IReadOnlyList<(string Node, TReply Reply)>, object> combine) =>
        FactoryProps.Of(() => new HostsQuery<TReply>(request, hosts, replyTo, selfAddress, timeout, combine));

    protected override void PreStart()
    {
        if (_hosts.Count == 0)
        {
            Finish();
            return;
        }
        foreach (var host in _hosts)
            host.Tell(_request);
        Context.SetReceiveTimeout(_timeout);
    }

    private void Finish()
    {
        _replyTo.Tell(_combine(_replies.OrderBy(r => r.Node, StringComparer.Ordinal).ToArray()));
        Context.Stop(Self);
    }
}
