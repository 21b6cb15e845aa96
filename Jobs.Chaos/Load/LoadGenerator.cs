using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;

namespace Jobs.Chaos.Load;

/// <summary>
/// The steady mixed load, submitted over the api node's HTTP facade as an outside client would: single tasks (some with
/// countdowns, some that fail and retry, some that overrun their soft time limit, some revoked while they wait),
/// chains and chords. Each kind arrives as a Poisson process whose rate gives it its share of the tasks per second, so
/// a chord of 1,000 does not hold the others back. Every submission is given its id by the submitter and logged with
/// its answer, so the audit knows what was promised.
/// </summary>
public sealed class LoadGenerator(HttpClient http, Timeline timeline, int seed, StreamWriter log)
{
    /// <summary>Each kind's share of the tasks, and its mean cost in tasks.</summary>
    public static readonly IReadOnlyList<(string Kind, double Share, double Cost)> Mix =
    [
        ("add", 0.30, 1), ("countdown", 0.08, 1), ("flaky", 0.10, 2.4), ("overrun", 0.01, 1), ("revoked", 0.05, 1),
        ("chain", 0.12, 12.5), ("chord", 0.34, 551),
    ];

    private const int MaxInFlight = 256;
    private const double RevokedCountdown = 6;

    /// <summary>How long an overrunning task asks to sleep: far past its soft time limit.</summary>
    public const double OverrunSeconds = 5.0;

    private readonly Random _random = new(seed);
    private readonly ConcurrentQueue<Submission> _submissions = new();
    private readonly SemaphoreSlim _inFlight = new(MaxInFlight);
    private readonly ConcurrentDictionary<Task, bool> _pending = new();
    private int _next;

    public IReadOnlyList<Submission> Submissions => _submissions.ToArray();

    /// <summary>
    /// The cluster's capacity in tasks per second, measured as W1 measures it: <paramref name="tasks"/> additions sent 64
    /// at a time, then every result awaited. The probe's tasks are audited with the rest.
    /// </summary>
    public async Task<double> ProbeCapacityAsync(int tasks)
    {
        var clock = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(64);
        var sent = await Task.WhenAll(Enumerable.Range(0, tasks).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                return await SubmitTaskAsync("probe", "chaos.add", new JsonArray(i, i), Expected.Success(2L * i));
            }
            finally
            {
                gate.Release();
            }
        }));
        await Task.WhenAll(sent.Where(s => s.Answer == Answer.Accepted).Select(async s =>
        {
            await gate.WaitAsync();
            try
            {
                await WaitForResultAsync(s.Id, TimeSpan.FromSeconds(120));
            }
            finally
            {
                gate.Release();
            }
        }));
        var accepted = sent.Count(s => s.Answer == Answer.Accepted);
        return accepted / clock.Elapsed.TotalSeconds;
    }

    private async Task WaitForResultAsync(string id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync($"api/task/result/{id}?timeout=10");
                var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
                if (response.IsSuccessStatusCode && body?["state"]?.GetValue<string>() is "SUCCESS" or "FAILURE" or "REVOKED")
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                await Task.Delay(200);
            }
        }
        throw new TimeoutException($"probe task {id} had no result within {timeout}");
    }

    /// <summary>Submits the mix at <paramref name="tasksPerSecond"/> until <paramref name="stop"/>, then waits for every answer.</summary>
    public async Task RunAsync(double tasksPerSecond, CancellationToken stop)
    {
        var clock = Stopwatch.StartNew();
        var rates = Mix.Select(m => m.Share * tasksPerSecond / m.Cost).ToArray();
        var next = rates.Select(r => Exponential(r)).ToArray();
        while (!stop.IsCancellationRequested)
        {
            var kind = Array.IndexOf(next, next.Min());
            var wait = next[kind] - clock.Elapsed.TotalSeconds;
            try
            {
                if (wait > 0)
                    await Task.Delay(TimeSpan.FromSeconds(wait), stop);
                await _inFlight.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            next[kind] += Exponential(rates[kind]);
            var item = Draw(Mix[kind].Kind);
            var task = Task.Run(async () =>
            {
                try
                {
                    await item();
                }
                finally
                {
                    _inFlight.Release();
                }
            });
            _pending[task] = true;
            _ = task.ContinueWith(t => _pending.TryRemove(t, out _), TaskScheduler.Default);
        }
        await Task.WhenAll(_pending.Keys);
        timeline.Note("load", $"stopped after {_submissions.Count} submissions");
    }

    private double Exponential(double rate) => -Math.Log(1 - _random.NextDouble()) / rate;

    /// <summary>The next item of a kind, its arguments drawn now (on the load's one thread, so a seed gives the same items).</summary>
    private Func<Task> Draw(string kind)
    {
        switch (kind)
        {
            case "add":
            {
                var (x, y) = (_random.Next(1_000_000), _random.Next(1_000_000));
                return () => SubmitTaskAsync(kind, "chaos.add", new JsonArray(x, y), Expected.Success((long)x + y));
            }
            case "countdown":
            {
                var (x, y, countdown) = (_random.Next(1_000_000), _random.Next(1_000_000), Math.Round(0.5 + 4.5 * _random.NextDouble(), 2));
                return () => SubmitTaskAsync(kind, "chaos.add", new JsonArray(x, y), Expected.Success((long)x + y), countdown);
            }
            case "flaky":
            {
                // Up to one failure more than the retries allow: those end in FAILURE after the last retry, as in Celery.
                var failures = _random.Next(ChaosTasks.FlakyMaxRetries + 2);
                var expected = failures <= ChaosTasks.FlakyMaxRetries
                    ? Expected.Success(ChaosTasks.FlakyResult(failures), failures)
                    : new Expected("FAILURE", null, nameof(ChaosFlakyException), ChaosTasks.FlakyMaxRetries);
                return () => SubmitTaskAsync(kind, "chaos.flaky", new JsonArray(failures), expected);
            }
            case "overrun":
                return () => SubmitTaskAsync(kind, "chaos.overrun", new JsonArray(OverrunSeconds), new Expected("FAILURE", null, "SoftTimeLimitExceededException"));
            case "revoked":
            {
                var (x, delay) = (_random.Next(1_000_000), 0.3 + 1.7 * _random.NextDouble());
                return () => SubmitAndRevokeAsync(x, delay);
            }
            case "chain":
            {
                var length = 5 + _random.Next(16);
                return () => SubmitChainAsync(length);
            }
            case "chord":
            {
                var size = 100 + _random.Next(901);
                return () => SubmitChordAsync(size);
            }
            default:
                throw new ArgumentException($"unknown load kind '{kind}'", nameof(kind));
        }
    }

    private string NextId(string prefix) => $"{prefix}{Interlocked.Increment(ref _next)}";

    private async Task<Submission> SubmitTaskAsync(string kind, string task, JsonArray args, Expected expected, double? countdown = null)
    {
        var submission = new Submission { Id = NextId("t"), Kind = kind, Expected = expected };
        var body = new JsonObject { ["args"] = args, ["task_id"] = submission.Id };
        if (countdown is { } seconds)
        {
            body["countdown"] = seconds;
            submission.DueAt = DateTimeOffset.UtcNow.AddSeconds(seconds);
        }
        await SendAsync(submission, $"api/task/async-apply/{task}", body);
        return submission;
    }

    private async Task SubmitAndRevokeAsync(int x, double delay)
    {
        var submission = await SubmitTaskAsync("revoked", "chaos.add", new JsonArray(x, 1), Expected.Success((long)x + 1), RevokedCountdown);
        if (submission.Answer != Answer.Accepted)
            return;
        await Task.Delay(TimeSpan.FromSeconds(delay));
        var sent = DateTimeOffset.UtcNow;
        var (status, reply, answer) = await PostAsync($"api/task/revoke/{submission.Id}", null);
        string? state = null;
        if (answer == Answer.Accepted)
        {
            try
            {
                state = JsonNode.Parse(reply!)?["state"]?.GetValue<string>();
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        submission.Revoke = new Revocation(sent, DateTimeOffset.UtcNow, status, answer, state, Short(reply));
        Log(submission);
    }

    /// <summary>add(0, 0) then add(previous, 1) each step: step i gives i.</summary>
    private Task SubmitChainAsync(int length)
    {
        var id = NextId("c");
        var members = Enumerable.Range(0, length).Select(i => new Member($"{id}.{i}", Expected.Success((long)i))).ToArray();
        var tasks = new JsonArray(members.Select((m, i) => (JsonNode)Signature("chaos.add", m.Id, i == 0 ? new JsonArray(0, 0) : new JsonArray(1))).ToArray());
        var canvas = Compound("celery.chain", "chain", id, new JsonObject { ["tasks"] = tasks });
        return SendAsync(new Submission { Id = id, Kind = "chain", Expected = Expected.Success((long)length - 1), Members = members }, "api/canvas", canvas);
    }

    /// <summary>add(i, i) for each i, then xsum of their results: n(n - 1).</summary>
    private Task SubmitChordAsync(int size)
    {
        var id = NextId("c");
        var total = (long)size * (size - 1);
        var members = Enumerable.Range(0, size).Select(i => new Member($"{id}.{i}", Expected.Success(2L * i)))
            .Append(new Member($"{id}.b", Expected.Success(total))).ToArray();
        var header = new JsonArray(Enumerable.Range(0, size).Select(i => (JsonNode)Signature("chaos.add", members[i].Id, new JsonArray(i, i))).ToArray());
        var canvas = Compound("celery.chord", "chord", id, new JsonObject { ["header"] = header, ["body"] = Signature("chaos.xsum", $"{id}.b", new JsonArray()) });
        return SendAsync(new Submission { Id = id, Kind = "chord", Expected = Expected.Success(total), Members = members }, "api/canvas", canvas);
    }

    private static JsonObject Signature(string task, string id, JsonArray args) => new()
    {
        ["task"] = task, ["args"] = args, ["kwargs"] = new JsonObject(), ["options"] = new JsonObject { ["task_id"] = id },
        ["subtask_type"] = null, ["immutable"] = false,
    };

    private static JsonObject Compound(string task, string type, string id, JsonObject kwargs) => new()
    {
        ["task"] = task, ["args"] = new JsonArray(), ["kwargs"] = kwargs, ["options"] = new JsonObject { ["task_id"] = id },
        ["subtask_type"] = type, ["immutable"] = false,
    };

    private async Task SendAsync(Submission submission, string path, JsonObject body)
    {
        submission.SentAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var (status, reply, answer) = await PostAsync(path, body.ToJsonString());
        submission.SubmitMs = clock.Elapsed.TotalMilliseconds;
        submission.Status = status;
        submission.Reply = answer == Answer.Accepted ? null : Short(reply);
        submission.Answer = answer;
        _submissions.Enqueue(submission);
        if (submission.Kind != "revoked" || answer != Answer.Accepted)
            Log(submission);
    }

    /// <summary>A POST and how its answer must be read; status 0 when no HTTP answer came.</summary>
    private async Task<(int Status, string? Reply, Answer Answer)> PostAsync(string path, string? json)
    {
        try
        {
            using var content = new StringContent(json ?? "", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(path, content);
            var reply = await response.Content.ReadAsStringAsync();
            return ((int)response.StatusCode, reply, Answers.Classify((int)response.StatusCode, reply));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (0, $"{e.GetType().Name}: {e.Message}", Answers.Classify(e));
        }
    }

    private static string? Short(string? text) => text is { Length: > 300 } ? text[..300] + "…" : text;

    private void Log(Submission submission)
    {
        var line = submission.ToJson().ToJsonString();
        lock (log)
            log.WriteLine(line);
    }
}
