using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>
/// Relative data paths are taken from the directory the user started the node in, also under `dotnet run --project`
/// (whose web projects would otherwise start in their project directory), and the banner prints them absolute.
/// </summary>
public sealed class DataPathSpec
{
    // `dotnet run` checks the build first: seconds on an up-to-date tree, minutes when it builds on a loaded machine.
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_node_started_with_dotnet_run_keeps_its_journal_and_task_index_in_the_directory_it_was_started_from()
    {
        var dir = Directory.CreateTempSubdirectory("jobs-path-").FullName;
        try
        {
            var project = Path.Combine(RepositoryRoot.Find(), "Jobs.Node");
            var command = $"dotnet run -c Release --project {project} -- --standalone --port {FreePort.Next()} " +
                $"--http 127.0.0.1:{FreePort.Next()} --cmd-port {FreePort.Next()}";
            var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
                .Where(k => k.StartsWith("JOBS_", StringComparison.Ordinal)).ToDictionary(k => k, _ => (string?)null);
            await using var node = NodeProcess.StartShell(command, dir, environment);
            await node.WaitForOutputAsync(l => l.StartsWith("  commands:", StringComparison.Ordinal), Deadline);

            var data = Path.Combine(dir, "data");
            Assert.Contains(node.Output, l => l == $"  journal:  sqlite {Path.Combine(data, "jobs.db")}");
            Assert.Contains(node.Output, l => l.StartsWith($"  index:    {Path.Combine(data, "monitor.db")} ", StringComparison.Ordinal));
            Assert.True(File.Exists(Path.Combine(data, "jobs.db")), "the journal is in ./data of the directory the node was started from");
            Assert.True(File.Exists(Path.Combine(data, "monitor.db")), "the task index is beside it");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
