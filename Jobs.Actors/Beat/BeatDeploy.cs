using Akka.Event;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Beat;

/// <summary>
/// A node with the shard role and task code applies its HOCON and attribute entries once it is Up: each is defined
/// in deploy mode (unchanged source definitions change nothing), and a listed HOCON or attribute entry that this
/// node's sources no longer have, for a task this node runs, is removed. Refusals (a name taken at run time) and a
/// timeout stop the node: it never runs without its schedule unsaid.
/// </summary>
public static class BeatDeploy
{
    public static async Task ApplyAsync(BeatClient beat, IReadOnlyList<StaticEntry> entries, TaskRegistry registry, TimeSpan timeout, ILoggingAdapter log)
    {
        var deadline = DateTime.UtcNow + timeout;
        var errors = new List<string>();
        try
        {
            foreach (var entry in entries)
            {
                try
                {
                    await Retrying(deadline, log, $"defining {entry.Definition.Name}",
                        ask => beat.DefineAsync(entry.Definition, entry.Source, DefineMode.Deploy, askTimeout: ask)).ConfigureAwait(false);
                }
                catch (EntryRejectedException e)
                {
                    errors.Add($"schedule entry '{entry.Definition.Name}': {e.Message}");
                }
            }
            var names = entries.Select(e => e.Definition.Name).ToHashSet(StringComparer.Ordinal);
            var listed = await Retrying(deadline, log, "listing the entries", ask => beat.ListAsync(askTimeout: ask)).ConfigureAwait(false);
            foreach (var vanished in listed.Where(v => EntrySources.IsStatic(v.Source) && !names.Contains(v.Name) && registry.TryGet(v.Definition!.Task, out _)))
            {
                log.Info("Beat: removing schedule entry {0}: its {1} definition is gone from this node's sources", vanished.Name, vanished.Source);
                await Retrying(deadline, log, $"removing {vanished.Name}", ask => beat.RemoveAsync(vanished.Name, bySource: true, askTimeout: ask)).ConfigureAwait(false);
            }
        }
        catch (Akka.Actor.AskTimeoutException)
        {
            throw new BeatScheduleException($"the schedule entries of this node could not be applied within {timeout} (jobs.beat.apply-timeout): the journal or the cluster did not answer");
        }
        if (errors.Count > 0)
            throw new BeatScheduleException(string.Join("; ", errors));
        if (entries.Count > 0)
            log.Info("Beat: {0} schedule entries from HOCON and attributes applied", entries.Count);
    }

    /// <summary>
    /// Asks again (deploys are idempotent) until the deadline: right after start the shard coordinators may still be
    /// recovering, and a loaded machine's journal may take longer than one ask's patience.
    /// </summary>
    private static async Task<T> Retrying<T>(DateTime deadline, ILoggingAdapter log, string what, Func<TimeSpan, Task<T>> ask)
    {
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            try
            {
                return await ask(left < TimeSpan.FromSeconds(10) ? Max(left, TimeSpan.FromMilliseconds(100)) : TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (Akka.Actor.AskTimeoutException) when (DateTime.UtcNow < deadline)
            {
                log.Warning("Beat: {0} was not answered yet; asking again", what);
            }
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
