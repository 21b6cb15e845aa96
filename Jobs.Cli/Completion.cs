using System.Text.Json.Nodes;
using Jobs.Actors.Control;

namespace Jobs.Cli;

/// <summary>
/// What Tab offers at the prompt: palettes, then their commands, then each argument by the placeholder in the
/// command's usage (members for ADDR, registered tasks for TASK, workers for W, …), as last read from the node.
/// </summary>
public sealed class Completion
{
    private static readonly string[] Words = ["help", "exit"];
    private static readonly string[] Types = ["task", "queue", "canvas", "beat", "beat-directory"];

    private IReadOnlyList<string> _members = [];
    private IReadOnlyList<string> _tasks = [];
    private IReadOnlyList<string> _workers = [];
    private IReadOnlyList<string> _queues = [];
    private IReadOnlyList<string> _entries = [];

    /// <summary>Reads members, tasks, workers, queues and schedule entries from the node; what cannot be read keeps its last value.</summary>
    public async Task RefreshAsync(Func<string, string, Task<JsonNode?>> query)
    {
        if (await query("cluster", "show") is JsonObject cluster && cluster["members"] is JsonArray members)
            _members = members.Select(m => m!["address"]!.GetValue<string>()).ToArray();
        if (await query("tasks", "registered") is JsonArray tasks)
            _tasks = tasks.Select(t => t!.GetValue<string>()).ToArray();
        if (await query("tasks", "stats") is JsonObject stats)
        {
            _workers = stats.Select(w => w.Key).ToArray();
            _queues = stats.SelectMany(w => w.Value?["queues"]?.AsArray().Select(q => q!.GetValue<string>()) ?? []).Distinct().ToArray();
        }
        if (await query("beat", "list") is JsonObject entries)
            _entries = entries.Select(e => e.Key).ToArray();
    }

    /// <summary>Every word that may follow <paramref name="before"/> (the line up to the cursor); the editor filters by prefix.</summary>
    public IReadOnlyList<string> Candidates(string before)
    {
        var words = before.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (!before.EndsWith(' ') && words.Count > 0)
            words.RemoveAt(words.Count - 1);
        if (words.Count == 0)
            return [.. CommandCatalog.Palettes, .. Words];
        if (words.Count == 1)
            return words[0] == "help" ? CommandCatalog.Palettes : CommandCatalog.CommandsOf(words[0]);
        if (words[^1] == "--worker")
            return _workers;
        if (words[^1] == "--queue")
            return _queues;
        if (CommandCatalog.Find(words[0], words[1]) is not { } usage)
            return [];
        var placeholders = usage.Arguments.Replace("[", "").Replace("]", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // A flag followed by its choices in the usage (--overlap allow|skip|queue) completes with them.
        var flagAt = Array.IndexOf(placeholders, words[^1]);
        if (words[^1].StartsWith("--", StringComparison.Ordinal) && flagAt >= 0 && flagAt + 1 < placeholders.Length && placeholders[flagAt + 1].Contains('|'))
            return placeholders[flagAt + 1].Split('|');
        var flags = placeholders.Where(p => p.StartsWith("--", StringComparison.Ordinal)).Append("--json");
        var positional = placeholders.Where(p => !p.StartsWith("--", StringComparison.Ordinal) && p != "W").ToArray();
        var index = words.Count - 2 - words.Skip(2).Count(w => w.StartsWith("--", StringComparison.Ordinal)) - words.Skip(2).Count(w => w == "--worker");
        var placeholder = positional.Length == 0 ? "" : positional[Math.Min(index, positional.Length - 1)];
        if (index >= positional.Length && !placeholder.EndsWith("...", StringComparison.Ordinal))
            placeholder = "";
        return [.. For(placeholder), .. flags];
    }

    private IReadOnlyList<string> For(string placeholder) => placeholder switch
    {
        "ADDR" => _members,
        "TYPE" => Types,
        "TASK" => _tasks,
        "WORKER" => _workers,
        "QUEUE" => _queues,
        "ENTRY" => _entries,
        _ when placeholder.Contains('|') => placeholder.Split('|'),
        _ => [],
    };
}
