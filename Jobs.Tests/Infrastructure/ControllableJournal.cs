using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.TestKit;

namespace Jobs.Tests.Infrastructure;

/// <summary>
/// Akka.Persistence.TestKit's journal and snapshot store in place of a node's: a test holds, fails or rejects the
/// writes of one persistence id while everything else is written as usual (in memory).
/// </summary>
public static class ControllableJournal
{
    public static readonly Config Config = ConfigurationFactory.ParseString("""
        akka.persistence.journal.plugin = "akka.persistence.journal.test"
        akka.persistence.journal.test {
          class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.test"
        akka.persistence.snapshot-store.test {
          class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
          plugin-dispatcher = "akka.actor.default-dispatcher"
        }
        """);

    public static ITestJournal JournalOf(ActorSystem system) =>
        TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null));

    public static ITestSnapshotStore SnapshotsOf(ActorSystem system) =>
        TestSnapshotStore.FromRef(Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(null));
}

/// <summary>
/// Holds every write of one persistence id until <see cref="Release"/>: a write slower than any timeout, ended when
/// the test says. <see cref="Reached"/> completes once the first of them is held, so the test knows it is in flight.
/// </summary>
public sealed class HeldWrites(string persistenceId) : IJournalInterceptor
{
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Reached => _reached.Task.WaitAsync(TimeSpan.FromSeconds(10));

    public void Release() => _released.TrySetResult();

    public async Task InterceptAsync(IPersistentRepresentation message)
    {
        if (message.PersistenceId != persistenceId)
            return;
        _reached.TrySetResult();
        await _released.Task.ConfigureAwait(false);
    }
}

/// <summary>Fails the first write of one persistence id with <paramref name="failure"/>, then lets every write through.</summary>
public sealed class FailFirstWrite(string persistenceId, Exception failure) : IJournalInterceptor
{
    private int _failed;

    public Task InterceptAsync(IPersistentRepresentation message) =>
        message.PersistenceId == persistenceId && Interlocked.Exchange(ref _failed, 1) == 0 ? Task.FromException(failure) : Task.CompletedTask;
}
