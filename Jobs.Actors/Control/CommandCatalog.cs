namespace Jobs.Actors.Control;

/// <summary>One command as <c>help</c> lists it; <see cref="Arguments"/> uses the placeholders the CLI completes.</summary>
public sealed record CommandUsage(string Palette, string Command, string Arguments, string Summary);

/// <summary>
/// Every command a node answers, for <c>help</c> and the CLI's tab completion. Placeholders: ADDR (a member),
/// TYPE (task|queue|canvas|beat|beat-directory), TASK (a registered task), WORKER and W (a worker), QUEUE, ID (a task id),
/// ENTRY (a schedule entry).
/// </summary>
public static class CommandCatalog
{
    public static readonly IReadOnlyList<CommandUsage> All =
    [
        new("cluster", "show", "", "members, status, roles, reachability and the leader"),
        new("cluster", "join", "ADDR", "this node joins the cluster at ADDR (a node that has not joined yet)"),
        new("cluster", "leave", "ADDR", "the member leaves gracefully (drains, hands off shards)"),
        new("cluster", "down", "ADDR", "marks the member down"),
        new("cluster", "down-unreachable", "", "downs every unreachable member"),
        new("cluster", "tail", "", "streams member events until Ctrl-C"),
        new("sharding", "regions", "", "the sharded entity types"),
        new("sharding", "region-stats", "TYPE", "shards and entities per node"),
        new("sharding", "shard-stats", "TYPE", "entities per shard, and the node holding it"),
        new("actor", "hierarchy", "[DEPTH]", "this node's actors, DEPTH levels deep (default 3)"),
        new("log", "peek", "[N]", "this node's last N log lines (default 20)"),
        new("log", "tail", "", "streams this node's new log lines until Ctrl-C"),
        new("tasks", "ping", "", "the node answers pong"),
        new("tasks", "stats", "", "per worker: concurrency, queues, processed, failed, retried, uptime"),
        new("tasks", "active", "", "tasks running, per worker"),
        new("tasks", "reserved", "", "tasks held ready, per worker"),
        new("tasks", "scheduled", "", "tasks waiting for a countdown, eta or retry, with their due time"),
        new("tasks", "registered", "", "task names the cluster's workers register"),
        new("tasks", "revoked", "", "recently revoked tasks, cluster-wide"),
        new("tasks", "query", "ID...", "state, name and worker of tasks"),
        new("control", "revoke", "ID... [--terminate]", "revokes tasks (persistent, cluster-wide)"),
        new("control", "rate-limit", "TASK RATE [--worker W]", "e.g. 10/s, 100/m, 1000/h; 0 lifts the limit"),
        new("control", "time-limit", "TASK SOFT HARD [--worker W]", "seconds; 0 = none"),
        new("control", "pool", "grow|shrink N [--worker W]", "more or fewer task bodies at once"),
        new("control", "add-consumer", "QUEUE [--worker W]", "the worker(s) start taking tasks from QUEUE"),
        new("control", "cancel-consumer", "QUEUE [--worker W]", "the worker(s) stop taking tasks from QUEUE"),
        new("control", "shutdown", "WORKER", "drains the worker, then its node leaves the cluster"),
        new("beat", "list", "", "schedule entries: task, schedule, next run, last run and its state, paused, source"),
        new("beat", "add", "NAME TASK [--cron EXPR] [--interval S] [--clocked ISO] [--args JSON] [--kwargs JSON] [--queue QUEUE] [--expires S] [--time-zone ZONE] [--catch-up none|once|all] [--catch-up-window S] [--overlap allow|skip|queue] [--paused]",
            "adds a run-time entry (journaled; survives restarts)"),
        new("beat", "remove", "ENTRY", "removes a run-time entry"),
        new("beat", "pause", "ENTRY", "no tick runs until resumed"),
        new("beat", "resume", "ENTRY", "runs again from the next tick"),
        new("beat", "run-now", "ENTRY", "sends the entry's task now"),
        new("beat", "next", "ENTRY [N]", "the entry's next N run times (default 5)"),
    ];

    public static IReadOnlyList<string> Palettes { get; } = All.Select(c => c.Palette).Distinct().ToArray();

    public static IReadOnlyList<string> CommandsOf(string palette) => All.Where(c => c.Palette == palette).Select(c => c.Command).ToArray();

    public static CommandUsage? Find(string palette, string command) => All.FirstOrDefault(c => c.Palette == palette && c.Command == command);
}
