using System.Collections.Concurrent;
using System.Diagnostics;

namespace Jobs.Tests.Infrastructure;

/// <summary>The <c>jobs</c> CLI as its own OS process: run to completion, fed a script on stdin, or left streaming a tail.</summary>
public sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private CliProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _lines.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string OutputText => string.Join(Environment.NewLine, _lines);

    private static ProcessStartInfo Info(IEnumerable<string> args, bool stdin)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin, UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "jobs.dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        info.Environment.Remove("JOBS_AUTH_TOKEN");
        return info;
    }

    /// <summary>Runs <c>jobs ARGS</c> to its end, with <paramref name="input"/> on stdin when given.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string? input, params string[] args)
    {
        using var process = Process.Start(Info(args, input is not null))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts a command that keeps running (a tail); its lines are collected as they come.</summary>
    public static CliProcess Start(params string[] args) => new(Process.Start(Info(args, stdin: false))!);

    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_lines.FirstOrDefault(match) is { } line)
                return line;
            if (_process.HasExited)
                break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no matching line within {timeout}:{Environment.NewLine}{OutputText}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
