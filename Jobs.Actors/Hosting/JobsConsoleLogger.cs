using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace Jobs.Actors.Hosting;

/// <summary>
/// Writes log lines in Celery's format, <c>[2026-11-24 22:03:31,123: INFO/worker] tasks.add[id]: Adding 2 + 2</c>,
/// and keeps the most recent ones in <see cref="LogRing"/> so they can be read without a log file.
/// </summary>
public sealed class JobsConsoleLogger : ReceiveActor, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    public JobsConsoleLogger()
    {
        Receive<InitializeLogger>(_ => Sender.Tell(new LoggerInitialized()));
        Receive<LogEvent>(Write);
    }

    private static void Write(LogEvent e)
    {
        var line = Format(e);
        LogRing.Shared.Add(line);
        Console.Out.WriteLine(line);
    }

    public static string Format(LogEvent e)
    {
        var level = e.LogLevel() switch
        {
            LogLevel.DebugLevel => "DEBUG",
            LogLevel.InfoLevel => "INFO",
            LogLevel.WarningLevel => "WARNING",
            _ => "ERROR",
        };
        var source = ShortSource(e.LogSource);
        var message = e.Message is LogMessage formatted ? formatted.ToString() : e.Message?.ToString();
        var line = $"[{e.Timestamp.ToLocalTime():yyyy-MM-dd HH:mm:ss,fff}: {level}/{source}] {message}";
        return e.Cause is null ? line : line + Environment.NewLine + e.Cause;
    }

    /// <summary>"akka://jobs/user/worker" → "worker"; "Akka.Cluster.Cluster(akka://jobs)" → "Cluster".</summary>
    private static string ShortSource(string source)
    {
        var paren = source.IndexOf('(');
        if (paren > 0)
            source = source[..paren];
        source = source.TrimEnd('/');
        var cut = Math.Max(source.LastIndexOf('/'), paren > 0 ? source.LastIndexOf('.') : -1);
        return cut >= 0 ? source[(cut + 1)..] : source;
    }
}

/// <summary>A bounded, thread-safe ring of the latest log lines of this process.</summary>
public sealed class LogRing(int capacity)
{
    public static readonly LogRing Shared = new(2000);

    private readonly string[] _lines = new string[capacity];
    private long _written;
    private volatile Action<string>[] _followers = [];

    public void Add(string line)
    {
        lock (_lines)
        {
            _lines[_written % _lines.Length] = line;
            _written++;
        }
        foreach (var follower in _followers)
            follower(line);
    }

    /// <summary>
    /// Calls <paramref name="onLine"/> with every line added from now on (on the logger's thread: it must not block)
    /// until the result is disposed.
    /// </summary>
    public IDisposable Follow(Action<string> onLine)
    {
        lock (_lines)
            _followers = [.. _followers, onLine];
        return new Unfollow(this, onLine);
    }

    private sealed class Unfollow(LogRing ring, Action<string> onLine) : IDisposable
    {
        public void Dispose()
        {
            lock (ring._lines)
                ring._followers = ring._followers.Where(f => f != onLine).ToArray();
        }
    }

    public IReadOnlyList<string> Latest(int count)
    {
        lock (_lines)
        {
            var available = (int)Math.Min(Math.Min(count, _written), _lines.Length);
            var result = new string[available];
            for (var i = 0; i < available; i++)
                result[i] = _lines[(_written - available + i) % _lines.Length];
            return result;
        }
    }
}
