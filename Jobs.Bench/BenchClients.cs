using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Configuration;
using Jobs.Actors.Canvas;
using Jobs.Actors.Client;
using Jobs.Actors.Hosting;

namespace Jobs.Bench;

/// <summary>How the benchmark submits work and awaits results: in-cluster by message, or over HTTP.</summary>
public interface IBenchClient : IAsyncDisposable
{
    string Via { get; }

    /// <summary>Sends a task; completes once it is journaled.</summary>
    Task<string> SendAsync(string task, params object[] args);

    /// <summary>Waits for a task's result (by message, never polling).</summary>
    Task<JsonElement> ResultAsync(string taskId);

    /// <summary>Starts a canvas and waits for its result.</summary>
    Task<JsonElement> CanvasAsync(Signature canvas);
}

/// <summary>An in-cluster service: a client node (no shards, no worker) joined to the target, using Ask.</summary>
public sealed class AskBenchClient(JobsNode node) : IBenchClient
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public string Via => "ask";

    public static async Task<AskBenchClient> JoinAsync(BenchTarget target)
    {
        string[] args = ["--port", "0", "--seeds", target.Seed, .. target.Redis is { } redis ? new[] { "--journal", "redis", "--redis", redis } : []];
        var config = ConfigurationFactory.ParseString("akka.loglevel = WARNING\njobs.http.submit-timeout = 300s\n" + BenchTarget.LargeCanvases)
            .WithFallback(NodeOptions.Parse(args).ToConfig(["client"], 0));
        return new AskBenchClient(await JobsNode.StartAsync(config, registry: null, TimeSpan.FromMinutes(1)));
    }

    public async Task<string> SendAsync(string task, params object[] args) => (await node.Client.SendTaskAsync(task, args)).TaskId;

    public async Task<JsonElement> ResultAsync(string taskId)
    {
        var result = await node.Client.AsyncResult(taskId).WaitAsync(Timeout);
        return result.Result ?? throw new InvalidOperationException($"task {taskId} ended {result.State}: {result.Error?.Message}");
    }

    public async Task<JsonElement> CanvasAsync(Signature canvas)
    {
        var handle = await node.Canvas.ApplyAsync(canvas);
        // The result only: the members' list (100,000 entries in W5) is paged, here to none.
        var result = await handle.WaitAsync(Timeout, membersLimit: 0);
        return result.Result ?? throw new InvalidOperationException($"canvas {handle.Id} ended {result.State}: {result.Error?.Message}");
    }

    public ValueTask DisposeAsync() => node.DisposeAsync();
}

/// <summary>An external client: Flower's API on the target's HTTP facade.</summary>
/// <param name="maxConnections">Connections to the node at most; each result being awaited holds one (a long poll).</param>
public sealed class HttpBenchClient(int port, int maxConnections = 64) : IBenchClient
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { MaxConnectionsPerServer = maxConnections })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
        Timeout = TimeSpan.FromMinutes(10),
    };

    /// <summary>A result not there after this long fails the run instead of holding it for ever (a lost task, or one read after it expired).</summary>
    private static readonly TimeSpan ResultWaitLimit = TimeSpan.FromMinutes(3);

    public string Via => "http";

    /// <summary>The calls' <c>result_expires</c> in seconds (0 keeps results for ever); null leaves it to the node.</summary>
    public double? ResultExpires { get; init; }

    /// <summary>
    /// Sends again, said on stderr, after a 503 (the node's journal did not acknowledge in time; seen on SQLite with the
    /// machine's load average above 60): a client would, and a task that was accepted after all only runs twice.
    /// </summary>
    public async Task<string> SendAsync(string task, params object[] args)
    {
        for (var attempt = 1; ; attempt++)
        {
            // Without a result_expires the body stays what every other workload has always sent.
            object body = ResultExpires is { } expires ? new { args, result_expires = expires } : new { args };
            using var response = await _http.PostAsJsonAsync($"api/task/async-apply/{task}", body);
            var answer = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
                return JsonNode.Parse(answer)!["task-id"]!.GetValue<string>();
            var failure = $"POST {task}: {(int)response.StatusCode} {answer}";
            if (response.StatusCode != System.Net.HttpStatusCode.ServiceUnavailable || attempt == 3)
                throw new HttpRequestException(failure, null, response.StatusCode);
            Console.Error.WriteLine($"{failure}; sending again");
        }
    }

    public Task<JsonElement> ResultAsync(string taskId) => ReadyAsync($"api/task/result/{taskId}?timeout=60");

    public async Task<JsonElement> CanvasAsync(Signature canvas)
    {
        using var content = new StringContent(CelerySignatures.ToJson(canvas).ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync("api/canvas", content);
        response.EnsureSuccessStatusCode();
        var id = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["task-id"]!.GetValue<string>();
        return await ReadyAsync($"api/canvas/{id}?timeout=60&children_limit=0");
    }

    /// <summary>
    /// GET with a server-side wait; asks again after a 408 (the wait ended, the task did not), and, said on stderr, after
    /// a connection lost on the way (the GET only reads, so asking again is safe; seen once in a full run).
    /// </summary>
    private async Task<JsonElement> ReadyAsync(string path)
    {
        var transportFailures = 0;
        var waiting = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await _http.GetAsync(path);
            }
            catch (HttpRequestException e) when (e.InnerException is IOException && ++transportFailures <= 3)
            {
                Console.Error.WriteLine($"GET {path}: {e.InnerException.Message}; asking again");
                continue;
            }
            using (response)
            {
                var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
                if ((int)response.StatusCode == 408 && waiting.Elapsed < ResultWaitLimit)
                    continue;
                if ((int)response.StatusCode == 408)
                    throw new TimeoutException($"{path}: no result after {waiting.Elapsed.TotalMinutes:0} min; the task says {await InfoAsync(path)}");
                response.EnsureSuccessStatusCode();
                if (body.GetProperty("state").GetString() != "SUCCESS")
                    throw new InvalidOperationException($"{path} ended {body}");
                return body.GetProperty("result");
            }
        }
    }

    /// <summary>What the info endpoint says of the task or canvas a result path names (e.g. that its result expired unread).</summary>
    private async Task<string> InfoAsync(string resultPath)
    {
        var id = resultPath.Split('?')[0].Split('/')[^1];
        using var response = await _http.GetAsync($"api/task/info/{id}");
        return $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
