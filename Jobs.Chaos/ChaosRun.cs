using System.Globalization;
using System.Text.Json.Nodes;
using Jobs.Chaos.Audit;
using Jobs.Chaos.Faults;
using Jobs.Chaos.Load;
using Jobs.Chaos.Topology;

namespace Jobs.Chaos;

/// <summary>
/// One chaos run: start the cluster, measure it, load it while faults strike it, let it heal and finish its work,
/// then audit every submission against the journal, the run logs and the monitor's index.
/// </summary>
public sealed class ChaosRun(ChaosOptions options, string dir, Action<string> say)
{
    private static readonly TimeSpan WholeAgainLimit = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan IndexLimit = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan IndexStall = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the drain still waits once every unfinished submission is a task the fsync policy may have lost. The
    /// cluster is whole when the drain starts and the load's countdowns, retry delays and soft time limit are seconds.
    /// </summary>
    private static readonly TimeSpan FsyncLossGrace = TimeSpan.FromSeconds(30);

    public async Task<int> RunAsync(CancellationToken abort)
    {
        using var timeline = new Timeline(Path.Combine(dir, "timeline.log"), options.Quiet ? null : say);
        using var network = NetworkLab.Create(options.Network, say);
        var kinds = FaultPlan.Effective(options.Faults, network.CanPartition);
        say($"seed {options.Seed}; {network.Describe}; appendfsync {options.AppendFsync}; logs in {dir}");
        await using var cluster = await ChaosCluster.StartAsync(network, timeline, dir, options.AppendFsync, options.Seed, say, abort);
        timeline.Note("harness", "cluster whole: seed, api, w1, w2, w3");

        await using var submissionLog = new StreamWriter(Path.Combine(dir, "submissions.jsonl")) { AutoFlush = true };
        var load = new LoadGenerator(cluster.Http, timeline, options.Seed, submissionLog);
        double? capacity = null;
        var rate = options.Rate ?? 0;
        if (options.Rate is null)
        {
            capacity = await load.ProbeCapacityAsync(options.ProbeTasks);
            rate = Math.Max(10, capacity.Value * options.LoadFraction);
            timeline.Note("harness", string.Create(CultureInfo.InvariantCulture, $"capacity {capacity:0} tasks/s; the load runs at {rate:0}/s"));
        }

        var injector = new FaultInjector(cluster, new FaultPlan(options.Seed, kinds), timeline);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(abort);
        var loadStart = DateTimeOffset.UtcNow;
        var loadEnd = DateTimeOffset.MaxValue;
        using var stopped = stop.Token.Register(() => loadEnd = DateTimeOffset.UtcNow);
        stop.CancelAfter(options.Duration);
        var loading = load.RunAsync(rate, stop.Token);
        var faulting = injector.RunAsync(stop.Token);
        await Task.WhenAll(loading, faulting);
        abort.ThrowIfCancellationRequested();

        network.HealAll();
        foreach (var node in cluster.Nodes)
            node.Resume();
        if (!cluster.Redis.IsRunning)
            await cluster.Redis.StartAsync();
        if (!await WaitAsync(cluster.HealthyAsync, WholeAgainLimit))
            timeline.Note("harness", $"the cluster was not whole {WholeAgainLimit.TotalMinutes:0} min after the last fault");
        else
            timeline.Note("harness", "the cluster is whole after the last fault");

        var submissions = load.Submissions;
        await using var journal = await JournalReader.ConnectAsync(cluster.Redis.LocalConnection);
        await DrainAsync(journal, cluster, submissions, injector.Faults, timeline);
        var input = await ReadAsync(journal, cluster, submissions, injector.Faults, loadStart, loadEnd);
        var index = await IndexAsync(cluster, input, timeline);
        var audit = Auditor.Judge(input with { Index = index });

        var settings = new RunSettings(options.Seed, (loadEnd - loadStart).TotalSeconds, rate, capacity, network.Describe, options.AppendFsync, kinds.Distinct().ToArray());
        var table = AuditReport.Table(settings, audit, injector.Faults);
        var json = AuditReport.Json(settings, audit, injector.Faults);
        await File.WriteAllTextAsync(Path.Combine(dir, "audit.txt"), table, CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(dir, "audit.json"), json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine(table);
        Console.WriteLine(new JsonObject { ["chaos"] = json }.ToJsonString());
        return audit.Clean ? 0 : 1;
    }

    private static async Task<bool> WaitAsync(Func<Task<bool>> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
                return true;
            await Task.Delay(500);
        }
        return false;
    }

    /// <summary>
    /// Waits until every accepted task and canvas has finished in the journal (and every unknown one that started), or
    /// the drain time is up: what is still unfinished then is lost. Once only tasks the fsync policy may have lost are left
    /// (<see cref="Auditor.AllowedByFsyncPolicy"/>), it waits <see cref="FsyncLossGrace"/> more at most.
    /// </summary>
    private async Task DrainAsync(JournalReader journal, ChaosCluster cluster, IReadOnlyList<Submission> submissions,
        IReadOnlyList<FaultRecord> faults, Timeline timeline)
    {
        var waiting = submissions.Where(s => s.Answer != Answer.Refused).ToList();
        var deadline = DateTime.UtcNow + options.Drain;
        var lastSaid = DateTime.MinValue;
        DateTime? onlyFsyncLosses = null;
        while (true)
        {
            var events = await journal.EventsAsync(waiting.Select(PersistenceId));
            waiting = waiting.Where(s => !Finished(s, events.GetValueOrDefault(PersistenceId(s)))).ToList();
            if (waiting.Count == 0)
            {
                timeline.Note("harness", "every accepted task and canvas has finished");
                return;
            }
            onlyFsyncLosses = MayAllBeFsyncLosses(waiting, cluster, faults) ? onlyFsyncLosses ?? DateTime.UtcNow : null;
            if (DateTime.UtcNow - onlyFsyncLosses > FsyncLossGrace)
            {
                timeline.Note("harness", $"{waiting.Count} unfinished {FsyncLossGrace.TotalSeconds:0} s after only tasks the fsync policy may have lost were left: " +
                                         string.Join(", ", waiting.Take(10).Select(s => s.Id)));
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                timeline.Note("harness", $"{waiting.Count} unfinished after the drain: {string.Join(", ", waiting.Take(10).Select(s => s.Id))}");
                return;
            }
            if (DateTime.UtcNow - lastSaid > TimeSpan.FromSeconds(10))
            {
                timeline.Note("harness", $"waiting for {waiting.Count} to finish (e.g. {string.Join(", ", waiting.Take(5).Select(s => s.Id))})");
                lastSaid = DateTime.UtcNow;
            }
            await Task.Delay(2000);
        }
    }

    /// <summary>Every one is a task (a canvas lost is never forgiven) whose last acknowledged write came just before Redis was killed.</summary>
    private static bool MayAllBeFsyncLosses(IReadOnlyList<Submission> waiting, ChaosCluster cluster, IReadOnlyList<FaultRecord> faults)
    {
        if (waiting.Any(s => s.IsCanvas))
            return false;
        var runs = ReadRuns(cluster.RunLogs);
        return waiting.All(s => Auditor.AllowedByFsyncPolicy(cluster.Redis.AppendFsync, faults, s, runs.GetValueOrDefault(s.Id) ?? []) is not null);
    }

    private static string PersistenceId(Submission s) => (s.IsCanvas ? "canvas-" : "task-") + s.Id;

    /// <summary>Finished, or an unknown submission that never started (nothing to wait for).</summary>
    private static bool Finished(Submission s, IReadOnlyList<object>? events)
    {
        if (events is null)
            return s.Answer == Answer.Unknown;
        return s.IsCanvas
            ? events.Any(e => e is Jobs.Actors.Canvas.CanvasFinished)
            : events.Any(e => e is Jobs.Actors.Tasks.TaskSucceeded or Jobs.Actors.Tasks.TaskFailed or Jobs.Actors.Tasks.TaskRevoked);
    }

    private static async Task<AuditInput> ReadAsync(JournalReader journal, ChaosCluster cluster, IReadOnlyList<Submission> submissions,
        IReadOnlyList<FaultRecord> faults, DateTimeOffset loadStart, DateTimeOffset loadEnd)
    {
        var ids = submissions.Select(PersistenceId).Concat(submissions.SelectMany(s => s.Members).Select(m => "task-" + m.Id));
        var events = await journal.EventsAsync(ids);
        var canvases = new Dictionary<string, CanvasAnswer>();
        using var gate = new SemaphoreSlim(16);
        await Task.WhenAll(submissions.Where(s => s.IsCanvas && s.Answer != Answer.Refused).Select(async s =>
        {
            await gate.WaitAsync();
            try
            {
                if (await CanvasAnswerAsync(cluster.Http, s.Id) is { } answer)
                    lock (canvases)
                        canvases[s.Id] = answer;
            }
            finally
            {
                gate.Release();
            }
        }));
        return new AuditInput(submissions, events, canvases, ReadRuns(cluster.RunLogs), null, faults, loadStart, loadEnd, cluster.Redis.AppendFsync);
    }

    private static async Task<CanvasAnswer?> CanvasAnswerAsync(HttpClient http, string id)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                using var response = await http.GetAsync($"api/canvas/{id}?children_limit=0");
                var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
                if (response.IsSuccessStatusCode && body?["state"] is { } state)
                    return new CanvasAnswer(state.GetValue<string>(), body["result"]?.DeepClone());
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
            }
            await Task.Delay(1000);
        }
        return null;
    }

    private static Dictionary<string, IReadOnlyList<RunRecord>> ReadRuns(IEnumerable<string> files)
    {
        var runs = new Dictionary<string, List<RunRecord>>();
        foreach (var file in files.Where(File.Exists))
        foreach (var line in File.ReadLines(file))
        {
            var fields = line.Split('\t');
            // A line cut short by a kill -9 in the middle of its write is not a run.
            if (fields.Length != 5 || !DateTimeOffset.TryParse(fields[4], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at))
                continue;
            if (!runs.TryGetValue(fields[0], out var list))
                runs[fields[0]] = list = new List<RunRecord>();
            list.Add(new RunRecord(fields[0], int.Parse(fields[1], CultureInfo.InvariantCulture), fields[2], at));
        }
        return runs.ToDictionary(r => r.Key, r => (IReadOnlyList<RunRecord>)r.Value);
    }

    /// <summary>
    /// The monitor's index, read until it agrees with the journal or the limit passes: it is fed live and by a journal
    /// sweep every few seconds, so it may trail the journal by a sweep.
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, IndexRow>?> IndexAsync(ChaosCluster cluster, AuditInput input, Timeline timeline)
    {
        var deadline = DateTime.UtcNow + IndexLimit;
        IReadOnlyDictionary<string, IndexRow>? rows = null;
        var disagreeing = int.MaxValue;
        var progressed = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            rows = await ReadIndexAsync(cluster.Http) ?? rows;
            if (rows is not null)
            {
                var now = Auditor.Judge(input with { Index = rows }).Findings.Count(f => f.Problem == Auditor.IndexDisagrees);
                if (now == 0)
                    return rows;
                if (now < disagreeing)
                    (disagreeing, progressed) = (now, DateTime.UtcNow);
                // Several sweeps have passed without it catching up: waiting longer shows nothing new.
                else if (DateTime.UtcNow - progressed > IndexStall)
                    break;
            }
            await Task.Delay(3000);
        }
        timeline.Note("harness", "the monitor's index still disagrees with the journal");
        return rows;
    }

    private static async Task<Dictionary<string, IndexRow>?> ReadIndexAsync(HttpClient http)
    {
        const int page = 10_000;
        var rows = new Dictionary<string, IndexRow>();
        try
        {
            for (var offset = 0; ; offset += page)
            {
                using var response = await http.GetAsync($"api/tasks?sort_by=uuid&limit={page}&offset={offset}");
                if (!response.IsSuccessStatusCode)
                    return null;
                var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
                foreach (var (id, row) in body)
                    rows[id] = new IndexRow(row!["state"]!.GetValue<string>(), row["retries"]?.GetValue<int>() ?? 0);
                if (body.Count < page)
                    return rows;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
