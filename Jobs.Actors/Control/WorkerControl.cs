using System.Globalization;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Jobs.Actors.Hosting;
using Jobs.Actors.Workers;

namespace Jobs.Actors.Control;

/// <summary>
/// Celery's inspect and control across the cluster: every Up member with the shard role is asked at its
/// <c>/user/worker</c>. Control answers per worker, like Celery's replies: <c>{"w1": {"ok": "…"}}</c>.
/// Used by the command host and by the HTTP facade alike.
/// </summary>
public sealed class WorkerControl(JobsNode node)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Every worker that answers in time; one that does not is left out rather than failing the command.</summary>
    public async Task<IReadOnlyList<(WorkerStats Stats, ActorSelection Worker)>> WorkersAsync() => (await AskAllAsync().ConfigureAwait(false)).Answered;

    private async Task<(IReadOnlyList<(WorkerStats Stats, ActorSelection Worker)> Answered, int Silent)> AskAllAsync()
    {
        var asks = Cluster.Get(node.System).State.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(node.Settings.ShardRole))
            .Select(async m =>
            {
                var worker = node.System.ActorSelection(new RootActorPath(m.Address) / "user" / "worker");
                try
                {
                    return (Stats: await worker.Ask<WorkerStats>(GetWorkerStats.Instance, AskTimeout).ConfigureAwait(false), Worker: worker);
                }
                catch (AskTimeoutException)
                {
                    return (Stats: (WorkerStats?)null, Worker: worker);
                }
            });
        var all = await Task.WhenAll(asks).ConfigureAwait(false);
        var answered = all.Where(w => w.Stats is not null)
            .Select(w => (w.Stats!, w.Worker))
            .OrderBy(w => w.Item1.Hostname, StringComparer.Ordinal)
            .ToArray();
        return (answered, all.Length - answered.Length);
    }

    /// <summary>Sends <paramref name="command"/> to every worker, or to the one named <paramref name="worker"/>.</summary>
    /// <exception cref="UnknownNameException">No worker of that name is in the cluster.</exception>
    /// <exception cref="NoReplyException">The worker may exist but did not answer in time.</exception>
    public async Task<JsonObject> SendAsync(IWorkerControlCommand command, string? worker = null)
    {
        var (workers, silent) = await AskAllAsync().ConfigureAwait(false);
        var targets = worker is null ? workers : workers.Where(w => w.Stats.Hostname == worker).ToArray();
        if (targets.Count == 0 && silent > 0)
            throw new NoReplyException($"{silent} worker(s) did not answer within {AskTimeout.TotalSeconds:0} s{(worker is null ? "" : $", '{worker}' may be one of them")}; try again");
        if (targets.Count == 0)
            throw new UnknownNameException(worker is null
                ? "the cluster has no worker"
                : $"unknown worker '{worker}'; workers: {string.Join(", ", workers.Select(w => w.Stats.Hostname))}");
        var replies = await Task.WhenAll(targets.Select(async target =>
        {
            try
            {
                return await target.Worker.Ask<WorkerControlReply>(command, AskTimeout).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                return new WorkerControlReply(target.Stats.Hostname, false, $"no reply within {AskTimeout.TotalSeconds:0} s");
            }
        })).ConfigureAwait(false);
        var result = new JsonObject();
        foreach (var reply in replies.OrderBy(r => r.Hostname, StringComparer.Ordinal))
            result[reply.Hostname] = new JsonObject { [reply.Ok ? "ok" : "error"] = reply.Message };
        return result;
    }

    /// <exception cref="UnknownNameException">No worker of the cluster registers <paramref name="name"/>.</exception>
    public void RequireTask(string name)
    {
        if (!node.Catalog.IsRegistered(name))
            throw new UnknownNameException($"unknown task '{name}': no worker registers it");
    }

    /// <summary>Celery's rate forms: "10/s", "100/m", "1000/h", a bare number per second; "0" lifts the limit (null).</summary>
    public static string? ParseRate(string rate) =>
        RateLimit.TryParse(rate, out var limit, out var problem) ? limit?.Text : throw new CommandException(problem!);

    /// <summary>Seconds, 0 meaning none.</summary>
    public static double ParseSeconds(string value, string what) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            ? SetTimeLimit.Problem(seconds, what) is { } problem ? throw new CommandException(problem) : seconds
            : throw new CommandException($"{what} must be a number of seconds >= 0 (0 = none), not '{value}'");

    public static SetTimeLimit TimeLimit(string task, double soft, double hard) =>
        soft > 0 && hard > 0 && soft > hard
            ? throw new CommandException($"the soft limit ({soft:0.###} s) must not exceed the hard limit ({hard:0.###} s)")
            : new SetTimeLimit(task, soft, hard);

    public static int ParseCount(string value) =>
        int.TryParse(value, out var n) && n > 0 ? n : throw new CommandException($"N must be a whole number > 0, not '{value}'");

    public static string ParseQueue(string? queue) =>
        string.IsNullOrWhiteSpace(queue) ? throw new CommandException("give a queue name") : queue.Trim();
}
