using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class RetryPolicySpec
{
    private static RetryPolicy Policy(int max = 3, double backoff = 0, double backoffMax = 600, bool jitter = false) =>
        new(max, TimeSpan.FromSeconds(180), [typeof(IOException)], backoff, TimeSpan.FromSeconds(backoffMax), jitter);

    private static readonly Random Seeded = new(42);

    [Fact]
    public void An_exception_not_listed_in_autoretry_fails_at_once()
    {
        var decision = Policy().Decide("t", new InvalidOperationException("no"), 0, Seeded);
        Assert.IsType<InvalidOperationException>(Assert.IsType<RetryDecision.Fail>(decision).Cause);
    }

    [Fact]
    public void A_listed_exception_or_a_subclass_retries_after_the_default_delay()
    {
        var decision = Assert.IsType<RetryDecision.Retry>(Policy().Decide("t", new FileNotFoundException("f"), 0, Seeded));
        Assert.Equal(TimeSpan.FromSeconds(180), decision.Countdown);
    }

    [Fact]
    public void After_max_retries_the_task_fails_with_the_last_exception()
    {
        var error = new IOException("again");
        Assert.IsType<RetryDecision.Retry>(Policy(max: 2).Decide("t", error, 1, Seeded));
        Assert.Same(error, Assert.IsType<RetryDecision.Fail>(Policy(max: 2).Decide("t", error, 2, Seeded)).Cause);
    }

    [Fact]
    public void Unlimited_retries_never_give_up()
    {
        Assert.IsType<RetryDecision.Retry>(Policy(max: -1).Decide("t", new IOException(), 10_000, Seeded));
    }

    [Fact]
    public void Backoff_doubles_per_retry_up_to_its_cap()
    {
        var policy = Policy(backoff: 2, backoffMax: 20);
        double Countdown(int retries) =>
            Assert.IsType<RetryDecision.Retry>((policy with { MaxRetries = 100 }).Decide("t", new IOException(), retries, Seeded)).Countdown.TotalSeconds;
        Assert.Equal([2, 4, 8, 16, 20, 20], Enumerable.Range(0, 6).Select(Countdown));
    }

    [Fact]
    public void Jitter_draws_each_countdown_between_zero_and_the_backoff()
    {
        var policy = Policy(max: 100, backoff: 1, backoffMax: 64, jitter: true);
        var random = new Random(7);
        var countdowns = Enumerable.Range(0, 200)
            .Select(_ => Assert.IsType<RetryDecision.Retry>(policy.Decide("t", new IOException(), 5, random)).Countdown.TotalSeconds)
            .ToArray();
        Assert.All(countdowns, c => Assert.InRange(c, 0, 32));
        Assert.True(countdowns.Distinct().Count() > 10, "jitter should spread the countdowns");
    }

    [Fact]
    public void An_explicit_retry_uses_its_own_countdown_and_cause()
    {
        var cause = new TimeoutException("slow");
        var decision = Assert.IsType<RetryDecision.Retry>(Policy().Decide("t", new TaskRetryException(cause, TimeSpan.FromSeconds(5), null), 0, Seeded));
        Assert.Equal(TimeSpan.FromSeconds(5), decision.Countdown);
        Assert.Same(cause, decision.Cause);
    }

    [Fact]
    public void An_explicit_retry_past_its_maximum_fails_with_max_retries_exceeded()
    {
        var decision = Policy().Decide("tasks.poll", new TaskRetryException(null, null, 1), 1, Seeded);
        var error = Assert.IsType<MaxRetriesExceededException>(Assert.IsType<RetryDecision.Fail>(decision).Cause);
        Assert.Contains("tasks.poll", error.Message);
    }
}
