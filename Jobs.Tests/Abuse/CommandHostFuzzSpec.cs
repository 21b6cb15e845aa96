using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Jobs.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Jobs.Tests.Abuse;

/// <summary>
/// Random lines to the command host (FsCheck, fixed seed printed; JOBS_FUZZ_SEED changes it): near-requests with wrong
/// types, versions and fields, and junk. Each is answered or its connection closed within a bound, and the host keeps
/// serving. Commands that act on the cluster's membership are left out: a random one could make the node leave.
/// </summary>
[Collection(AbuseNodeCollection.Name)]
public sealed class CommandHostFuzzSpec(AbuseNodeFixture fixture, ITestOutputHelper output)
{
    private const ulong DefaultSeed = 20261201;
    private const int Lines = 1000;

    private StandaloneNode Node => fixture.Node;

    [Fact]
    public async Task Random_lines_are_answered_or_closed_in_time_and_the_host_keeps_serving()
    {
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("JOBS_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        var lines = Gen.Sample(Line(), Lines, new Rnd(seed), 20);
        var clock = Stopwatch.StartNew();
        var answered = 0;
        var closed = 0;
        TcpClient? client = null;
        try
        {
            foreach (var line in lines)
            {
                client ??= await ConnectAsync();
                var stream = client.GetStream();
                try
                {
                    await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));
                    var reply = await ReadLineAsync(stream);
                    if (reply is null)
                    {
                        closed++;
                        client.Dispose();
                        client = null;
                        continue;
                    }
                    var json = JsonNode.Parse(reply)!.AsObject();
                    // A stream's items come first; the fuzzer ends it, as a client may, by closing the connection.
                    if (json.ContainsKey("item") || json["end"] is not null)
                    {
                        client.Dispose();
                        client = null;
                    }
                    answered++;
                }
                catch (IOException)
                {
                    closed++;
                    client?.Dispose();
                    client = null;
                }
            }
        }
        finally
        {
            client?.Dispose();
        }
        var figures = $"Command host fuzz: seed {seed}, {lines.Length} lines in {clock.Elapsed.TotalSeconds:0.0} s: {answered} answered, {closed} closed by the host";
        output.WriteLine(figures);
        Console.WriteLine(figures);

        using var check = await ConnectAsync();
        await check.GetStream().WriteAsync(Encoding.UTF8.GetBytes("""{"v":2,"palette":"tasks","command":"ping"}""" + "\n"));
        Assert.True(JsonNode.Parse((await ReadLineAsync(check.GetStream()))!)!["ok"]!.GetValue<bool>());
    }

    private static Gen<string> Line()
    {
        var palettes = Gen.Elements("tasks", "log", "actor", "sharding", "control", "nope", "", "TASKS");
        var commands = Gen.Elements("ping", "stats", "active", "reserved", "scheduled", "registered", "revoked", "query", "peek", "hierarchy",
            "regions", "region-stats", "shard-stats", "rate-limit", "time-limit", "pool", "add-consumer", "revoke", "x", "");
        var args = Gen.ListOf(OpenApiFuzzer.Strings(), 3);
        var version = Gen.Elements<JsonNode?>(JsonValue.Create(2), JsonValue.Create(1), JsonValue.Create(3), JsonValue.Create(-1), JsonValue.Create("2"), null,
            JsonValue.Create(2.5), JsonValue.Create(int.MaxValue));
        var request =
            from v in version
            from palette in palettes
            from command in commands
            from a in args
            from token in Gen.Elements<JsonNode?>(null, JsonValue.Create("wrong"), JsonValue.Create(5))
            from shape in Gen.Choose(0, 5)
            select shape switch
            {
                0 => new JsonObject { ["v"] = v?.DeepClone(), ["palette"] = palette, ["command"] = command, ["args"] = new JsonArray(a.Select(x => (JsonNode?)x).ToArray()) },
                1 => new JsonObject { ["v"] = v?.DeepClone(), ["palette"] = palette, ["command"] = command, ["args"] = JsonValue.Create("not-an-array"), ["token"] = token?.DeepClone() },
                2 => new JsonObject { ["v"] = v?.DeepClone(), ["palette"] = JsonValue.Create(7), ["command"] = command },
                3 => new JsonObject { ["v"] = v?.DeepClone(), ["palette"] = palette, ["command"] = command, ["args"] = new JsonArray(1, null, new JsonObject()) },
                4 => new JsonObject { ["v"] = v?.DeepClone(), ["palette"] = palette },
                _ => new JsonObject { ["v"] = v?.DeepClone(), ["palette"] = palette, ["command"] = command, ["args"] = new JsonArray(a.Select(x => (JsonNode?)x).ToArray()), ["extra"] = new JsonArray() },
            };
        var junk = Gen.Elements("", " ", "{", "}", "[]", "null", "42", "\"text\"", "GET / HTTP/1.1", "Host: 127.0.0.1", "\u0000\u0001\u0002",
            "{\"v\":2,\"palette\":\"tasks\",\"command\":\"ping\"", new string('{', 3000), "\ud800", "é漢😀");
        return Gen.Frequency(
            (6, request.Select(r => r.ToJsonString())),
            (2, junk),
            (1, OpenApiFuzzer.Strings().Select(t => t.Replace("\n", " "))));
    }

    private async Task<TcpClient> ConnectAsync()
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Node.CmdPort);
        return client;
    }

    /// <summary>One reply line, or null when the host closed the connection; fails if neither comes within 15 s.</summary>
    private static async Task<string?> ReadLineAsync(NetworkStream stream)
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var line = new List<byte>();
        var buffer = new byte[1];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, cancel.Token);
            if (read == 0)
                return line.Count == 0 ? null : Encoding.UTF8.GetString(line.ToArray());
            if (buffer[0] == '\n')
                return Encoding.UTF8.GetString(line.ToArray());
            line.Add(buffer[0]);
        }
    }
}
