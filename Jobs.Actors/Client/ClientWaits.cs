using System.Diagnostics;
using Akka.Actor;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Client;

/// <param name="DefaultTimeout">How long a wait without a timeout of its own lasts (<c>jobs.client.wait-timeout</c>).</param>
/// <param name="ReaskInterval">How often a waiter asks again (<c>jobs.client.reask-interval</c>).</param>
public sealed record ClientWaits(TimeSpan DefaultTimeout, TimeSpan ReaskInterval)
{
    public static readonly ClientWaits Default = new(TimeSpan.FromHours(1), TimeSpan.FromSeconds(10));

    /// <summary>
    /// Sends <paramref name="command"/> and, while no answer has come, sends it again every <see cref="ReaskInterval"/>
    /// until <paramref name="timeout"/>. An entity keeps its waiters in memory only, so one that restarted or moved to
    /// another node meanwhile knows this waiter again from the next ask; the commands sent here are idempotent. A
    /// <see cref="CommandFailed"/> answer ends the wait when <paramref name="failureEnds"/> says so; otherwise it is
    /// asked again after an interval, and reported if it is still the last answer when the time is up.
    /// </summary>
    /// <exception cref="AskTimeoutException">No answer within <paramref name="timeout"/>.</exception>
    internal async Task<T> AskUntilAnsweredAsync<T>(IActorRef target, object command, TimeSpan timeout, Func<CommandFailed, bool> failureEnds,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        CommandFailed? lastFailure = null;
        while (true)
        {
            var left = timeout - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                if (lastFailure is not null)
                    throw new TaskUnavailableException(lastFailure.Id, lastFailure.Reason);
                throw new AskTimeoutException($"no answer to {command.GetType().Name} within {timeout}");
            }
            object answer;
            try
            {
                answer = await target.Ask<object>(command, Shorter(left, ReaskInterval), cancellationToken).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                lastFailure = null;
                continue;
            }
            switch (answer)
            {
                case T done:
                    return done;
                case CommandFailed failed when failureEnds(failed):
                    throw CommandFailures.ForWrite(failed);
                case CommandFailed failed:
                    lastFailure = failed;
                    var rest = timeout - Stopwatch.GetElapsedTime(started);
                    await Task.Delay(Shorter(rest > TimeSpan.Zero ? rest : TimeSpan.Zero, ReaskInterval), cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    throw new InvalidOperationException($"unexpected answer {answer.GetType().Name} to {command.GetType().Name}");
            }
        }
    }

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
