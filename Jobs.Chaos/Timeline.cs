namespace Jobs.Chaos;

/// <summary>What happened when, from every part of the harness, written to timeline.log as it happens.</summary>
public sealed class Timeline(string path, Action<string>? echo = null) : IDisposable
{
    private readonly StreamWriter _file = new(path, append: false) { AutoFlush = true };

    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    public void Note(string source, string text)
    {
        var at = DateTimeOffset.UtcNow;
        // Absolute times match the node logs; the offset reads as the run's clock.
        var line = $"{at:HH:mm:ss.fff} {(at - Started).TotalSeconds,8:0.000}s {source,-8} {text}";
        lock (_file)
            _file.WriteLine(line);
        echo?.Invoke(line);
    }

    public void Dispose()
    {
        lock (_file)
            _file.Dispose();
    }
}
