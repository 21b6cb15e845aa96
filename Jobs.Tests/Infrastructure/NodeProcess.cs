using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Jobs.Tests.Infrastructure;

/// <summary>
/// A real node in its own OS process (<c>dotnet Jobs.Node.dll ...</c>), as a user starts it: tests drive it over
/// HTTP, kill it with SIGKILL and start it again on the same data.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Process _process;

    private NodeProcess(Process process, string? http)
    {
        _process = process;
        Http = http is null ? null : new HttpClient { BaseAddress = new Uri($"http://{http}/"), Timeout = TimeSpan.FromSeconds(60) };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public HttpClient? Http { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> Output => _output.ToArray();

    public string OutputText => string.Join(Environment.NewLine, _output);

    /// <summary>Starts <paramref name="assembly"/> (e.g. "Jobs.Node") with <paramref name="args"/> in <paramref name="workDir"/>.</summary>
    public static NodeProcess Start(string assembly, IEnumerable<string> args, string workDir, string? http,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        Directory.CreateDirectory(workDir);
        return new NodeProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start " + dll), http);
    }

    /// <summary>
    /// Runs <paramref name="command"/> through <c>bash -c</c> in <paramref name="workDir"/> (README's <c>dotnet run …</c>
    /// lines); an environment value of null removes the variable. Killing it kills the whole process tree.
    /// </summary>
    public static NodeProcess StartShell(string command, string workDir, IReadOnlyDictionary<string, string?> environment)
    {
        var info = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(command);
        foreach (var (key, value) in environment)
        {
            if (value is null)
                info.Environment.Remove(key);
            else
                info.Environment[key] = value;
        }
        return new NodeProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start bash"), null);
    }

    /// <summary>Waits until the HTTP facade answers its health check.</summary>
    public async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"the node exited with {_process.ExitCode}:{Environment.NewLine}{OutputText}");
            try
            {
                using var response = await Http!.GetAsync("healthcheck");
                if (response.IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the node was not healthy within {timeout}:{Environment.NewLine}{OutputText}");
    }

    /// <summary>Waits until a line of the node's output satisfies <paramref name="match"/>.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var exited = _process.HasExited;
            if (exited)
                await _process.WaitForExitAsync(); // the output read to its end
            var line = _output.FirstOrDefault(match);
            if (line is not null)
                return line;
            if (exited)
                break;
            await Task.Delay(50);
        }
        throw new TimeoutException($"no matching output within {timeout}:{Environment.NewLine}{OutputText}");
    }

    /// <summary>SIGKILL: the process gets no chance to flush or leave the cluster.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as a service manager stops a node; waits for a graceful exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        Signal("TERM");
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
        return _process.ExitCode;
    }

    /// <summary>
    /// SIGSTOP: the process stays alive but answers nothing, which its peers cannot tell from a network partition
    /// that cuts it off alone.
    /// </summary>
    public void Freeze() => Signal("STOP");

    /// <summary>SIGCONT: the frozen process runs on, unaware of what the others decided meanwhile.</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        if (!_process.HasExited)
            Process.Start("kill", [$"-{signal}", _process.Id.ToString()])!.WaitForExit();
    }

    /// <summary>Waits for the process to exit on its own and answers whether it did within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>POSTs JSON (or raw text) and returns the status and parsed body.</summary>
    public async Task<(int Status, JsonNode? Body)> PostAsync(string path, object? body)
    {
        using var content = body switch
        {
            null => new StringContent("", System.Text.Encoding.UTF8, "application/json"),
            string raw => new StringContent(raw, System.Text.Encoding.UTF8, "application/json"),
            _ => (HttpContent)JsonContent.Create(body),
        };
        using var response = await Http!.PostAsync(path, content);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    public async Task<(int Status, JsonNode? Body)> GetAsync(string path)
    {
        using var response = await Http!.GetAsync(path);
        return ((int)response.StatusCode, await ReadAsync(response));
    }

    private static async Task<JsonNode?> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return text.Length == 0 ? null : JsonNode.Parse(text);
        }
        catch (System.Text.Json.JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Http?.Dispose();
        _process.Dispose();
    }
}
