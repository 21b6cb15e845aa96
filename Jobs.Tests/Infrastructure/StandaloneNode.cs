using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace Jobs.Tests.Infrastructure;

/// <summary>
/// A standalone node (seed + worker + HTTP in one process) on free ports with its own data directory, the way a
/// user runs it from README; it can be killed and started again on the same journal.
/// </summary>
public sealed class StandaloneNode : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _extraArgs;

    public StandaloneNode(params string[] extraArgs)
    {
        _extraArgs = extraArgs;
        WorkDir = Path.Combine(Path.GetTempPath(), "jobs-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(WorkDir);
        Port = FreePort.Next();
        HttpPort = FreePort.Next();
        CmdPort = FreePort.Next();
    }

    public string WorkDir { get; }
    public int Port { get; }
    public int HttpPort { get; }
    public int CmdPort { get; }
    public NodeProcess? Process { get; private set; }
    public string JournalPath => Path.Combine(WorkDir, "data", "jobs.db");

    public NodeProcess Node => Process ?? throw new InvalidOperationException("the node is not started");

    public async Task<NodeProcess> StartAsync()
    {
        // The test assembly itself is loaded with --tasks, so the node also runs the test.* tasks.
        string[] args = ["--standalone", "--port", Port.ToString(), "--http", $"127.0.0.1:{HttpPort}", "--concurrency", "2",
            "--cmd-port", CmdPort.ToString(), "--tasks", typeof(StandaloneNode).Assembly.Location, .. _extraArgs];
        Process = NodeProcess.Start("Jobs.Node", args, WorkDir, $"127.0.0.1:{HttpPort}");
        await Process.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        return Process;
    }

    public async Task KillAsync()
    {
        if (Process is not null)
            await Process.KillAsync();
    }

    /// <summary>Sends a task through Flower's async-apply and returns its id.</summary>
    public async Task<string> SendAsync(string name, object body)
    {
        var (status, json) = await Node.PostAsync($"api/task/async-apply/{name}", body);
        if (status != 200)
            throw new InvalidOperationException($"async-apply {name} answered {status}: {json}");
        return json!["task-id"]!.GetValue<string>();
    }

    /// <summary>Waits for a task's result by message on the node (GET result?timeout=), under a deadline.</summary>
    public async Task<JsonNode> ResultAsync(string taskId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var (status, json) = await Node.GetAsync($"api/task/result/{taskId}?timeout=5");
            if (status == 200 && json!["state"]!.GetValue<string>() is "SUCCESS" or "FAILURE" or "REVOKED")
                return json;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"task {taskId} not ready within {timeout}: {json}");
        }
    }

    /// <summary>The event manifests journaled for one task, read straight from the SQLite journal.</summary>
    public IReadOnlyList<string> JournaledEvents(string taskId)
    {
        using var connection = new SqliteConnection($"Data Source={JournalPath};Mode=ReadOnly");
        connection.Open();
        if (!HasJournalTable(connection))
            return [];
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT manifest FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
        command.Parameters.AddWithValue("$id", "task-" + taskId);
        using var reader = command.ExecuteReader();
        var manifests = new List<string>();
        while (reader.Read())
            manifests.Add(reader.GetString(0));
        return manifests;
    }

    /// <summary>Every persistence id in the SQLite journal that contains <paramref name="marker"/>.</summary>
    public IReadOnlyList<string> PersistenceIdsContaining(string marker)
    {
        using var connection = new SqliteConnection($"Data Source={JournalPath};Mode=ReadOnly");
        connection.Open();
        if (!HasJournalTable(connection))
            return [];
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT persistence_id FROM journal WHERE instr(persistence_id, $marker) > 0";
        command.Parameters.AddWithValue("$marker", marker);
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
            ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>The journal's tables are created by its first write: before it, nothing has been journaled.</summary>
    private static bool HasJournalTable(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'";
        return (long)command.ExecuteScalar()! > 0;
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
            await Process.DisposeAsync();
        try
        {
            Directory.Delete(WorkDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
