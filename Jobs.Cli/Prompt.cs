using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Jobs.Cli;

/// <summary>
/// <c>jobs HOST:PORT</c> with no command: a prompt that runs commands on one connection, with history (kept in
/// ~/.jobs_history) and tab completion; <c>help</c> lists the commands, <c>exit</c> or Ctrl-D leaves, and Ctrl-C
/// ends a running tail without leaving.
/// </summary>
public sealed class Prompt(CommandRunner runner)
{
    private const int HistoryKept = 500;
    private static readonly string HistoryFile = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".jobs_history");

    private readonly Completion _completion = new();
    private CommandClient? _client;
    private CancellationTokenSource? _running;

    public async Task<int> RunAsync()
    {
        try
        {
            _client = await runner.ConnectAsync();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            Console.Error.WriteLine(runner.Unreachable(e));
            return CommandRunner.UsageOrUnreachable;
        }
        var editor = new LineEditor(_completion.Candidates);
        var keepHistory = !Console.IsInputRedirected;
        if (keepHistory)
            Load(editor);
        Console.CancelKeyPress += (_, e) =>
        {
            // Ctrl-C while a command runs ends that command (a tail), not the prompt.
            e.Cancel = true;
            _running?.Cancel();
        };
        Console.WriteLine($"Connected to {runner.Endpoint}. help lists the commands, Tab completes, exit leaves.");
        await RefreshCompletionAsync();
        try
        {
            while (editor.ReadLine($"jobs {runner.Endpoint}> ") is { } line)
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (words.Length == 0)
                    continue;
                editor.Remember(line.Trim());
                if (words[0] is "exit" or "quit")
                    break;
                if (words[0] == "help")
                {
                    CommandRunner.PrintHelp(words.Length > 1 ? words[1] : null);
                    continue;
                }
                if (words.Length < 2)
                {
                    Console.Error.WriteLine("error: give a palette and a command, e.g. cluster show (help lists them)");
                    continue;
                }
                await RunAsync(words);
            }
        }
        finally
        {
            _client?.Dispose();
            if (keepHistory)
                Save(editor);
        }
        return 0;
    }

    /// <summary>History is a convenience: a home directory that cannot be read or written only loses it.</summary>
    private static void Load(LineEditor editor)
    {
        try
        {
            if (File.Exists(HistoryFile))
            {
                foreach (var line in File.ReadLines(HistoryFile).TakeLast(HistoryKept))
                    editor.Remember(line);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static void Save(LineEditor editor)
    {
        try
        {
            File.WriteAllLines(HistoryFile, editor.History.TakeLast(HistoryKept));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private async Task RunAsync(string[] words)
    {
        if (_client is null)
        {
            try
            {
                _client = await runner.ConnectAsync();
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                Console.Error.WriteLine(runner.Unreachable(e));
                return;
            }
        }
        var json = words.Contains("--json");
        var command = new CommandRunner(runner, json);
        using var running = new CancellationTokenSource();
        _running = running;
        var exit = await command.RunAsync(_client, words.Where(w => w != "--json").ToArray(), running.Token);
        _running = null;
        if (exit == CommandRunner.UsageOrUnreachable)
        {
            // The connection broke; the next command connects again.
            _client.Dispose();
            _client = null;
            return;
        }
        await RefreshCompletionAsync();
    }

    private Task RefreshCompletionAsync() => _client is null ? Task.CompletedTask : _completion.RefreshAsync(async (palette, command) =>
    {
        try
        {
            return await runner.QueryAsync(_client, palette, command);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return null;
        }
    });
}
