using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Jobs.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Jobs.Tests.Abuse;

/// <summary>
/// Random and broken requests against every operation of the node's own OpenAPI document (FsCheck generators, a fixed
/// seed printed with the figures; JOBS_FUZZ_SEED and JOBS_FUZZ_REQUESTS change them): no 500, no hang, the node keeps
/// serving, and nothing is journaled for a request it refused.
/// </summary>
[Collection(AbuseNodeCollection.Name)]
public sealed class HttpFuzzSpec(AbuseNodeFixture fixture, ITestOutputHelper output)
{
    private const ulong DefaultSeed = 20261201;
    private const int DefaultRequests = 2000;
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(20);

    private StandaloneNode Node => fixture.Node;

    [Fact]
    public async Task Random_and_broken_requests_to_every_operation_never_get_a_500_or_hang_and_a_refused_one_journals_nothing()
    {
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("JOBS_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        var count = int.TryParse(Environment.GetEnvironmentVariable("JOBS_FUZZ_REQUESTS"), out var n) ? n : DefaultRequests;
        var http = Node.Node.Http!;
        var document = JsonNode.Parse(await http.GetStringAsync("openapi/v1.json"))!;
        var operations = OpenApiFuzzer.Operations(document);
        // Task bodies that could hold the node's two slots for long are left out: later specs on this node need them.
        var names = new[] { "tasks.add", "tasks.mul", "tasks.echo", "tasks.fail", "tasks.xsum", "nope" };
        var requests = OpenApiFuzzer.Sample(OpenApiFuzzer.Requests(operations, names), seed, count);
        var covered = requests.Select(r => r.Operation).Distinct().Count();
        Assert.True(covered == operations.Count, $"the requests cover {covered} of the {operations.Count} operations");

        using var client = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = http.BaseAddress, Timeout = PerRequest,
        };
        var statuses = new int[requests.Count];
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        using var parallel = new SemaphoreSlim(4);
        var sends = requests.Select(async (request, i) =>
        {
            await parallel.WaitAsync();
            try
            {
                statuses[i] = await SendAsync(client, request, Marker(seed, i));
                if (statuses[i] is 500 or 502 or 0)
                    lock (failures) failures.Add($"#{i} {Describe(request)} answered {statuses[i]}");
            }
            catch (TaskCanceledException)
            {
                lock (failures) failures.Add($"#{i} {Describe(request)} hung for {PerRequest.TotalSeconds} s");
            }
            finally
            {
                parallel.Release();
            }
        }).ToArray();
        await Task.WhenAll(sends);
        var elapsed = clock.Elapsed;

        var histogram = statuses.GroupBy(c => c).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}");
        var figures = $"HTTP fuzz: seed {seed}, {requests.Count} requests over {operations.Count} operations in {elapsed.TotalSeconds:0.0} s; statuses {string.Join(", ", histogram)}";
        output.WriteLine(figures);
        Console.WriteLine(figures);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20)));

        // The node still serves, and serves real work.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthcheck")).StatusCode);
        var id = await Node.SendAsync("tasks.add", new { args = new[] { 40, 2 } });
        Assert.Equal(42, (await Node.ResultAsync(id, TimeSpan.FromSeconds(60)))["result"]!.GetValue<int>());

        // Whatever reached a journal under a fuzz marker came from a request that was accepted.
        var journaled = Node.PersistenceIdsContaining($"fz{seed}x");
        var refusedButJournaled = journaled
            .Select(pid => Regex.Match(pid, $@"fz{seed}x(\d+)c(\d+)"))
            .Where(m => m.Success && int.TryParse(m.Groups[1].Value, out var i) && i < statuses.Length && Checksum(i) == m.Groups[2].Value)
            .Select(m => int.Parse(m.Groups[1].Value))
            .Where(i => statuses[i] is < 200 or >= 300)
            .Select(i => $"#{i} {Describe(requests[i])} answered {statuses[i]} but journaled")
            .ToArray();
        var journalFigures = $"HTTP fuzz: {journaled.Count} persistence ids journaled under fuzz markers, {refusedButJournaled.Length} of them from refused requests";
        output.WriteLine(journalFigures);
        Console.WriteLine(journalFigures);
        Assert.Empty(refusedButJournaled);

        await UndoAsync(http, names);
    }

    private static string Marker(ulong seed, int i) => $"fz{seed}x{i}c{Checksum(i)}";

    /// <summary>A mutated marker that still parses is not taken for another request's.</summary>
    private static string Checksum(int i) => ((i * 7919 + 13) % 10007).ToString();

    private static async Task<int> SendAsync(HttpClient client, FuzzRequest request, string marker)
    {
        var path = request.Operation.Path;
        var values = request.PathValues.GetEnumerator();
        path = Regex.Replace(path, "{[^}]+}", _ =>
        {
            values.MoveNext();
            return Escape(values.Current);
        });
        var query = string.Join("&", request.Query.Select(q => $"{Escape(q.Name)}={Escape(q.Value)}"));
        var uri = path.TrimStart('/') + (query.Length > 0 ? "?" + query : "");
        using var message = new HttpRequestMessage(new HttpMethod(request.Operation.Method), uri);
        foreach (var (name, value) in request.Headers)
            message.Headers.TryAddWithoutValidation(name, value);
        if (OpenApiFuzzer.BodyBytes(request, marker) is { } bytes)
        {
            message.Content = new ByteArrayContent(bytes);
            if (request.ContentType is not null)
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
        }
        try
        {
            // The event stream answers its headers and then streams: its status is all the fuzzer reads.
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
            if (!request.Operation.Path.EndsWith("/events", StringComparison.Ordinal))
                await response.Content.ReadAsByteArrayAsync();
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            // A connection the node closed on a request it would not read (over a limit) is a refusal, not a failure.
            return 499;
        }
    }

    /// <summary>Settings the fuzz may have changed on the node's tasks are set back, for the specs after it.</summary>
    private static async Task UndoAsync(HttpClient http, IEnumerable<string> names)
    {
        foreach (var name in names.Where(n => n.StartsWith("tasks.", StringComparison.Ordinal)))
        {
            using var rate = new FormUrlEncodedContent(new Dictionary<string, string> { ["ratelimit"] = "0" });
            (await http.PostAsync($"api/task/rate-limit/{name}", rate)).Dispose();
            using var time = new FormUrlEncodedContent(new Dictionary<string, string> { ["soft"] = "0", ["hard"] = "0" });
            (await http.PostAsync($"api/task/timeout/{name}", time)).Dispose();
        }
    }

    private static string Describe(FuzzRequest request)
    {
        var body = request.Body?.ToJsonString() ?? request.RawBody ?? "";
        return $"{request.Operation} path [{string.Join(", ", request.PathValues.Select(Short))}] query [{string.Join("&", request.Query.Select(q => $"{q.Name}={Short(q.Value)}"))}] " +
               $"headers [{string.Join(", ", request.Headers.Select(h => h.Name))}] {request.ContentType} mutation {request.Mutation} body {Short(body)}";
    }

    /// <summary>Percent-encoded UTF-8; a lone surrogate (which Uri refuses) goes as the replacement character.</summary>
    private static string Escape(string text) =>
        string.Concat(System.Text.Encoding.UTF8.GetBytes(text).Select(b => char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~'
            ? ((char)b).ToString()
            : $"%{b:X2}"));

    private static string Short(string text) => text.Length > 120 ? text[..120] + $"…({text.Length})" : text;
}
