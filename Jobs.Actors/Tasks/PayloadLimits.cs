using Akka.Configuration;

namespace Jobs.Actors.Tasks;

/// <summary>
/// What one task may carry, sized together with remoting's frame. Remoting drops a message larger than
/// <c>akka.remote.dot-netty.tcp.maximum-frame-size</c> with only a log line (the association stays up, so no
/// DeathWatch fires), so sizes are checked where they arise instead: arguments at submission, results at the
/// worker, and the queue splits a batch of envelopes by bytes. Sizes count bytes as sent (JSON-escaped).
/// </summary>
/// <param name="MaxArgumentsBytes">args and kwargs of one submission together (<c>jobs.tasks.max-arguments-size</c>).</param>
/// <param name="MaxResultBytes">the result of one attempt (<c>jobs.tasks.max-result-size</c>).</param>
/// <param name="MaxFrameBytes">remoting's frame, which must hold a chain member's arguments: its own plus its parent's result.</param>
public sealed record PayloadLimits(long MaxArgumentsBytes, long MaxResultBytes, long MaxFrameBytes)
{
    /// <summary>Room left in a frame for what surrounds a payload: ids, names, paths, an error's traceback.</summary>
    public const long Overhead = 64 * 1024;

    public static readonly PayloadLimits Default = new(1024 * 1024, 1024 * 1024, 4 * 1024 * 1024);

    /// <summary>The bytes of envelopes the queue puts in one <c>RunTasks</c>; a single envelope always goes.</summary>
    public long MaxBatchBytes => MaxFrameBytes - Overhead;

    /// <exception cref="ConfigurationException">The frame cannot hold the largest payload the limits allow.</exception>
    public static PayloadLimits Create(Config config)
    {
        var limits = new PayloadLimits(
            config.GetByteSize("jobs.tasks.max-arguments-size", Default.MaxArgumentsBytes) ?? Default.MaxArgumentsBytes,
            config.GetByteSize("jobs.tasks.max-result-size", Default.MaxResultBytes) ?? Default.MaxResultBytes,
            config.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size", Default.MaxFrameBytes) ?? Default.MaxFrameBytes);
        if (limits.MaxArgumentsBytes <= 0 || limits.MaxResultBytes <= 0)
            throw new ConfigurationException("jobs.tasks.max-arguments-size and jobs.tasks.max-result-size must be positive");
        var needed = limits.MaxArgumentsBytes + limits.MaxResultBytes + Overhead;
        if (limits.MaxFrameBytes < needed)
            throw new ConfigurationException(
                $"akka.remote.dot-netty.tcp.maximum-frame-size ({limits.MaxFrameBytes} bytes) must be at least jobs.tasks.max-arguments-size + " +
                $"jobs.tasks.max-result-size + 64 KiB ({needed} bytes): a chain member carries its parent's result in its arguments, " +
                "and remoting silently drops a larger message");
        return limits;
    }
}

/// <summary>A submission whose arguments exceed <see cref="PayloadLimits.MaxArgumentsBytes"/>: refused, never sent.</summary>
public sealed class TaskTooLargeException(string taskId, string message) : TaskNotAcceptedException(taskId, message);
