namespace Jobs.Chaos;

/// <summary>What happened when, from every part of the harness, kept in memory and written to timeline.log as it happens.</summary>
public sealed class Timeline(string path, Action<string>? echo = null) : IDisposable
{
    private readonly StreamWriter _file = new(path, append: false) { AutoFlush = true };
    private readonly List<(DateTimeOffset At, string Source, string Text)> _notes = new();

    public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;

    public void Note(string source, string text)
    {
        var at = DateTimeOffset.UtcNow;
        var line = $"{(at - Started).TotalSeconds,8:0.000}s {source,-8} {text}";
        lock (_notes)
        {
            _notes.Add((at, source, text));
            _file.WriteLine(line);
        }
        echo?.Invoke(line);
    }

    public IReadOnlyList<(DateTimeOffset At, string Source, string Text)> Notes
    {
        get
        {
            lock (_notes)
                return _notes.ToArray();
        }
    }

    public void Dispose()
    {
        lock (_notes)
            _file.Dispose();
    }
}
