using Akka.Pattern;
using StackExchange.Redis;

namespace Jobs.Actors.Persistence;

/// <summary>
/// Whether a write the journal reported as failed was certainly not stored. Only then may a client be told that its
/// command was not accepted: any other failure (a timeout, a connection lost after the command was sent) may still
/// have been stored, or be stored later, and a restarted entity then recovers it and goes on.
/// </summary>
public static class WriteFailures
{
    /// <summary>Redis refuses these before running the write script, so the script wrote nothing.</summary>
    private static readonly string[] RefusedBeforeRunning = ["OOM", "READONLY", "MISCONF", "NOREPLICAS"];

    public static bool CertainlyNotStored(Exception cause) => cause switch
    {
        // The breaker was open: the journal was not asked at all.
        OpenCircuitException => true,
        // Never written to the socket; with BacklogPolicy.FailFast nothing is kept to be sent later either.
        RedisConnectionException { CommandStatus: CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog } => true,
        RedisServerException refused => RefusedBeforeRunning.Any(code => refused.Message.StartsWith(code, StringComparison.Ordinal)),
        _ => false,
    };
}
