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
        using var cancel = new CancellationTokenSource(timeout);
        var errors = new List<string>();
        try
        {
            foreach (var entry in entries)
            {
                try
                {
                    await beat.DefineAsync(entry.Definition, entry.Source, DefineMode.Deploy, cancel.Token).ConfigureAwait(false);
                }
                catch (EntryRejectedException e)
                {
                    errors.Add($"schedule entry '{entry.Definition.Name}': {e.Message}");
                }
            }
            var names = entries.Select(e => e.Definition.Name).ToHashSet(StringComparer.Ordinal);
            foreach (var vanished in (await beat.ListAsync(cancel.Token).ConfigureAwait(false))
                         .Where(v => EntrySources.IsStatic(v.Source) && !names.Contains(v.Name) && registry.TryGet(v.Definition!.Task, out _)))
            {
                log.Info("Beat: removing schedule entry {0}: its {1} definition is gone from this node's sources", vanished.Name, vanished.Source);
                await beat.RemoveAsync(vanished.Name, bySource: true, cancel.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or Akka.Actor.AskTimeoutException)
        {
            throw new BeatScheduleException($"the schedule entries of this node could not be applied within {timeout} (jobs.beat.apply-timeout): the journal or the cluster did not answer");
        }
        if (errors.Count > 0)
            throw new BeatScheduleException(string.Join("; ", errors));
        if (entries.Count > 0)
            log.Info("Beat: {0} schedule entries from HOCON and attributes applied", entries.Count);
    }
}
