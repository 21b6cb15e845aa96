using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// SQLite is one node's file, so only a standalone node keeps its tasks there: a worker or api node of a cluster refuses
/// to start without the shared journal and says what to pass, before it joins anything or creates a file. A seed
/// hosts no shards and serves no monitor: it reads no journal and creates no database.
/// </summary>
public sealed class SharedJournalSpec
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>A seed address nobody listens on: the refusal comes before any join is tried.</summary>
    private static string NoSeed => $"akka.tcp://jobs@127.0.0.1:{FreePort.Next()}";

    public static TheoryData<string, string[], string> ClusteredNodesOnSqlite => new()
    {
        { "Jobs.Node", ["--seeds", NoSeed], "a worker in a cluster needs the journal the cluster shares: pass --journal redis --redis HOST:PORT" },
        { "Jobs.Node", ["--seeds", NoSeed, "--journal", "sqlite"], "a worker in a cluster needs the journal the cluster shares: pass --journal redis --redis HOST:PORT" },
        // No seeds and not standalone: it waits to be told `cluster join`, so it is a node of a cluster all the same.
        { "Jobs.Node", [], "a worker in a cluster needs the journal the cluster shares: pass --journal redis --redis HOST:PORT" },
        { "Jobs.Api", ["--seeds", NoSeed, "--http", $"127.0.0.1:{FreePort.Next()}"], "an api node in a cluster reads the journal its workers write" },
    };

    [Theory]
    [MemberData(nameof(ClusteredNodesOnSqlite))]
    public async Task A_node_of_a_cluster_on_sqlite_refuses_to_start_and_says_what_to_pass(string project, string[] args, string message)
    {
        var dir = Directory.CreateTempSubdirectory("jobs-journal-").FullName;
        try
        {
            await using var node = NodeProcess.Start(project, [.. args, "--port", "0", "--cmd-port", FreePort.Next().ToString()], dir, null);
            Assert.True(await node.WaitForExitAsync(Deadline), $"the node did not exit:{Environment.NewLine}{node.OutputText}");
            Assert.Equal(2, node.ExitCode);
            var error = Assert.Single(node.Output, l => l.StartsWith("stderr: error: ", StringComparison.Ordinal));
            Assert.Contains(message, error);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_seed_given_no_journal_forms_the_cluster_and_creates_no_database_file()
    {
        var dir = Directory.CreateTempSubdirectory("jobs-journal-").FullName;
        try
        {
            await using var seed = NodeProcess.Start("Jobs.Seed", ["--port", FreePort.Next().ToString(), "--cmd-port", FreePort.Next().ToString()], dir, null);
            // The banner is printed once the node is Up: a seed with no seeds joined itself.
            var journal = await seed.WaitForOutputAsync(l => l.StartsWith("  journal:", StringComparison.Ordinal), Deadline);
            Assert.Contains("none", journal);
            Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
