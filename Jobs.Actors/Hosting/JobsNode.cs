using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Jobs.Actors.Beat;
using Jobs.Actors.Canvas;
using Jobs.Actors.Client;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Queues;
using Jobs.Actors.Tasks;
using Jobs.Actors.Workers;

namespace Jobs.Actors.Hosting;

/// <summary>
/// One ActorJobs node: the actor system, the task and canvas shard regions (or proxies on nodes without the
/// shard role), the node's queue partitions (<see cref="QueueHost"/>), the worker when the node has task code, and a
/// <see cref="TaskClient"/>.
/// </summary>
public sealed class JobsNode : IAsyncDisposable
{
    public const string TaskTypeName = "task";
    public const string CanvasTypeName = "canvas";
    public const string BeatTypeName = "beat";
    public const string BeatDirectoryTypeName = "beat-directory";

    private readonly BodyScheduler? _bodies;

    private JobsNode(ActorSystem system, JobsSettings settings, IActorRef tasks, IActorRef queues, IActorRef canvases, IActorRef? worker,
        TaskRegistry? registry, string hostname, BodyScheduler? bodies, ITaskCatalog catalog, BeatRegions beat, IActorRef taskEvents)
    {
        Beat = new BeatClient(beat.Entries, beat.Directory, tasks, beat.Settings, catalog, settings.SubmitTimeout);
        BeatEntries = beat.Entries;
        BeatDirectory = beat.Directory;
        Canvases = canvases;
        Canvas = new CanvasClient(canvases, settings.SubmitTimeout, settings.Waits);
        Catalog = catalog;
        System = system;
        Settings = settings;
        Tasks = tasks;
        Queues = queues;
        Worker = worker;
        Registry = registry;
        Hostname = hostname;
        _bodies = bodies;
        Client = new TaskClient(tasks, settings.Routes, settings.SubmitTimeout, Persistence.JournalHealth.For(system),
            taskEvents, settings.Payload, settings.Waits);
    }

    public ActorSystem System { get; }
    public JobsSettings Settings { get; }
    public IActorRef Tasks { get; }

    /// <summary>This node's <see cref="QueueHost"/>: queue commands for its partitions, and cluster-wide queue figures.</summary>
    public IActorRef Queues { get; }
    public IActorRef? Worker { get; }
    public TaskRegistry? Registry { get; }
    public string Hostname { get; }
    public TaskClient Client { get; }

    /// <summary>The canvas shard region: <see cref="ICanvasCommand"/>s go here.</summary>
    public IActorRef Canvases { get; }

    /// <summary>Starts chains, groups and chords and awaits their results.</summary>
    public CanvasClient Canvas { get; }

    /// <summary>Periodic tasks: schedule entries defined, listed, paused, resumed and run from here.</summary>
    public BeatClient Beat { get; }

    /// <summary>The schedule entries' shard region: <see cref="IBeatCommand"/>s go here.</summary>
    public IActorRef BeatEntries { get; }

    /// <summary>The beat directory partitions' shard region.</summary>
    public IActorRef BeatDirectory { get; }

    /// <summary>
    /// The retention sweeper (a proxy of the cluster singleton): answers <see cref="Retention.GetRetentionStats"/>.
    /// The proxy is made at the first question, so a node nobody asks (a seed alone) never looks for a sweeper that
    /// cannot exist yet and warns that it found none.
    /// </summary>
    public IActorRef Retention => _retention.Value;

    private Lazy<IActorRef> _retention = new(() => ActorRefs.Nobody);

    /// <summary>The task names the cluster's workers register (this node's own included).</summary>
    public ITaskCatalog Catalog { get; }
    public Address Address => Cluster.Get(System).SelfAddress;

    /// <summary>
    /// Starts the node and waits until it is Up in the cluster. A <paramref name="registry"/> makes it a worker
    /// for the queues in <c>jobs.worker.queues</c>, provided it has the shard role. <paramref name="systemStarted"/>
    /// runs as soon as the actor system exists, before the node joins (the command host starts there).
    /// </summary>
    public static async Task<JobsNode> StartAsync(Config config, TaskRegistry? registry, TimeSpan joinTimeout,
        CancellationToken cancellationToken = default, Action<ActorSystem>? systemStarted = null)
    {
        RequireSharedJournal(config);
        // Only nodes that host shards write the journal; a client or seed node must not create a database file.
        var shardRole = config.GetString("akka.cluster.sharding.role", "worker");
        var sqlite = config.GetString("jobs.persistence.journal", "sqlite") == "sqlite";
        if (sqlite && config.GetStringList("akka.cluster.roles").Contains(shardRole))
            Persistence.Sqlite.SqliteJournalFile.Prepare(config);
        var bootstrap = BootstrapSetup.Create().WithConfig(config);
        var system = ActorSystem.Create("jobs", sqlite
            ? bootstrap.And(Persistence.Sqlite.SqliteJournalFile.ConnectionSetup(config))
            : Akka.Actor.Setup.ActorSystemSetup.Create(bootstrap));
        try
        {
            systemStarted?.Invoke(system);
            var settings = JobsSettings.Create(system.Settings.Config);
            var cluster = Cluster.Get(system);
            var hostsShards = cluster.SelfRoles.Contains(settings.ShardRole);
            var sharding = ClusterSharding.Get(system);
            var events = DistributedPubSub.Get(system).Mediator;
            // Task events go out in batches, one pub-sub message per interval (README "Monitoring").
            var taskEvents = system.ActorOf(TaskEventBatcher.Props(events, settings.Monitoring, settings.Payload.MaxBatchBytes), "task-events");
            var taskExtractor = new StableMessageExtractor(settings.NumberOfShards, m => (m as ITaskCommand)?.TaskId);

            var canvasExtractor = new StableMessageExtractor(settings.NumberOfShards, m => (m as ICanvasCommand)?.CanvasId);
            // Every node's queues are local partitions under its own host, started before the node joins so that other
            // nodes find it as soon as they see the node Up; nodes without shards hold none and only ask.
            var queues = system.ActorOf(QueueHost.Props(settings.QueuePartitions, hostsShards, settings.ShardRole), QueueHost.Name);

            // The regions start once the node is Up: before that no coordinator can exist, and what reaches a region
            // waits in its buffer while it retries, with warnings, though nothing is wrong.
            var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.RegisterOnMemberUp(() => up.TrySetResult());
            // Told to leave (or downed) before it saw itself Up, the node would otherwise wait out the join timeout.
            cluster.RegisterOnMemberRemoved(() => up.TrySetException(
                new NodeNotUpException($"{cluster.SelfAddress} was removed from the cluster before it was Up")));
            if (system.Settings.Config.GetBoolean("jobs.cluster.join-self"))
                cluster.Join(cluster.SelfAddress);
            await up.Task.WaitAsync(joinTimeout, cancellationToken).ConfigureAwait(false);

            IActorRef tasks, canvases;
            if (hostsShards)
            {
                StartTaskLists(system, settings.RevokedListSize);
                var entitySettings = settings.TaskEntity;
                var pending = settings.Pending;
                // With the pending index, a shard's own waker restarts its unfinished tasks (PendingTasks), so sharding
                // need not remember every task: two journal writes fewer per task.
                var taskSharding = ClusterShardingSettings.Create(system).WithRememberEntities(!pending.Enabled);
                var indexes = pending.Enabled ? new Persistence.Redis.RedisJournalIndexes(system) : null;
                tasks = await sharding.StartAsync(TaskTypeName, id => StableMessageExtractor.IsShardWaker(id, out var shard)
                        ? PendingTaskWaker.Props(shard, indexes!, pending)
                        : TaskEntity.Props(id, queues, entitySettings, taskEvents), taskSharding,
                    taskExtractor, sharding.DefaultShardAllocationStrategy(taskSharding), StopEntity.Instance).ConfigureAwait(false);
                if (pending.Enabled)
                    system.ActorOf(PendingShardWakers.Props(tasks, indexes!, settings.NumberOfShards, pending.WakeInterval), "pending-shard-wakers");
                var canvasSettings = settings.Canvas;
                var canvasSharding = ClusterShardingSettings.Create(system);
                canvases = await sharding.StartAsync(CanvasTypeName, id => CanvasEntity.Props(id, tasks, canvasSettings), canvasSharding,
                    canvasExtractor, sharding.DefaultShardAllocationStrategy(canvasSharding), StopEntity.Instance).ConfigureAwait(false);
            }
            else
            {
                tasks = await sharding.StartProxyAsync(TaskTypeName, settings.ShardRole, taskExtractor).ConfigureAwait(false);
                canvases = await sharding.StartProxyAsync(CanvasTypeName, settings.ShardRole, canvasExtractor).ConfigureAwait(false);
            }

            var retention = StartRetention(system, settings, hostsShards, events, canvases);

            var beat = await StartBeatAsync(system, sharding, settings, hostsShards, tasks, events).ConfigureAwait(false);

            system.ActorOf(UndeliveredTaskCommands.Props(), "undelivered-task-commands");
            // Every node answers a worker woken from a pause how it sees that worker (see WorkerPool's pause check).
            system.ActorOf(MembershipWitness.Props(), MembershipWitness.Name);
            if (hostsShards)
                await RegisteredAsync(cluster.SelfAddress, system.Settings.Config.GetTimeSpan("jobs.cluster.regions-ready-timeout", TimeSpan.FromSeconds(30)),
                    cancellationToken, tasks, canvases, beat.Entries, beat.Directory).ConfigureAwait(false);

            var self = cluster.SelfAddress;
            var role = cluster.SelfRoles.FirstOrDefault(r => r != "api") ?? "node";
            var hostname = settings.WorkerHostname is { Length: > 0 } named ? named : $"{role}@{self.Host}:{self.Port}";

            IActorRef? worker = null;
            BodyScheduler? bodies = null;
            if (registry is not null && hostsShards && settings.Queues.Count > 0)
            {
                bodies = new BodyScheduler(settings.Concurrency, "task-body");
                var workerSettings = new WorkerSettings(hostname, settings.Concurrency, settings.Prefetch, settings.Queues)
                {
                    ReconcileInterval = settings.ReconcileInterval,
                    StartedReportDelay = settings.StartedReportDelay,
                    MaxResultBytes = settings.Payload.MaxResultBytes,
                    PauseCheckInterval = settings.PauseCheckInterval,
                    PauseThreshold = settings.PauseThreshold,
                    PauseConfirmInterval = settings.PauseConfirmInterval,
                };
                worker = system.ActorOf(WorkerPool.SupervisedProps(registry, workerSettings, tasks, queues, bodies, new ClusterMembership(system)), "worker");
                system.ActorOf(WorkerHeartbeat.Props(worker, events, settings.Monitoring.HeartbeatInterval, self.ToString()), "worker-heartbeat");
                DrainOnShutdown(system, worker, settings.DrainTimeout);
            }
            var catalog = ClusterTaskCatalog.Start(system, worker is not null ? registry : null);
            var node = new JobsNode(system, settings, tasks, queues, canvases, worker, registry, hostname, bodies, catalog, beat, taskEvents)
            {
                _retention = retention,
            };
            if (hostsShards && registry is not null)
                await BeatDeploy.ApplyAsync(node.Beat, StaticSchedule.Load(system.Settings.Config, registry), registry, beat.Settings.ApplyTimeout,
                    Akka.Event.Logging.GetLogger(system, "beat")).ConfigureAwait(false);
            return node;
        }
        catch
        {
            await system.Terminate().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The beat's two regions: schedule entries, and the directory partitions that list them and wake the sleeping ones.
    /// Both persistent, so both are stopped by <see cref="StopEntity"/>, never a PoisonPill, on hand-off as on passivation.
    /// </summary>
    private static async Task<BeatRegions> StartBeatAsync(ActorSystem system, ClusterSharding sharding, JobsSettings settings, bool hostsShards,
        IActorRef tasks, IActorRef events)
    {
        var beatSettings = BeatSettings.Create(system.Settings.Config);
        var entryExtractor = new StableMessageExtractor(settings.NumberOfShards, m => (m as IBeatCommand)?.EntryName);
        var directoryExtractor = new StableMessageExtractor(settings.NumberOfShards, m => (m as IBeatDirectoryCommand)?.Partition.ToString());
        if (!hostsShards)
            return new BeatRegions(
                await sharding.StartProxyAsync(BeatTypeName, settings.ShardRole, entryExtractor).ConfigureAwait(false),
                await sharding.StartProxyAsync(BeatDirectoryTypeName, settings.ShardRole, directoryExtractor).ConfigureAwait(false),
                beatSettings);
        var shardSettings = ClusterShardingSettings.Create(system);
        var strategy = sharding.DefaultShardAllocationStrategy(shardSettings);
        IActorRef? entries = null;
        var directory = await sharding.StartAsync(BeatDirectoryTypeName, id => global::Jobs.Actors.Beat.BeatDirectory.Props(int.Parse(id), () => entries, beatSettings),
            shardSettings, directoryExtractor, strategy, StopEntity.Instance).ConfigureAwait(false);
        entries = await sharding.StartAsync(BeatTypeName, name => BeatEntity.Props(name, tasks, directory, beatSettings, settings.Routes, events),
            shardSettings, entryExtractor, strategy, StopEntity.Instance).ConfigureAwait(false);
        return new BeatRegions(entries, directory, beatSettings);
    }

    /// <summary>
    /// Every node with the shard role purges (a forget) through its <see cref="Retention.ResultPurger"/>; one of them runs
    /// the sweeper. Every node reaches the sweeper through a proxy, for its stats, made when first asked.
    /// </summary>
    private static Lazy<IActorRef> StartRetention(ActorSystem system, JobsSettings settings, bool hostsShards, IActorRef events, IActorRef canvases)
    {
        var retention = Jobs.Actors.Retention.RetentionSettings.Create(system.Settings.Config);
        if (hostsShards)
        {
            var journal = Jobs.Actors.Retention.IJournalRetention.For(system, retention);
            system.ActorOf(Jobs.Actors.Retention.ResultPurger.Props(journal, events), Jobs.Actors.Retention.ResultPurger.Name);
            if (retention.Enabled)
                system.ActorOf(Akka.Cluster.Tools.Singleton.ClusterSingletonManager.Props(Jobs.Actors.Retention.ResultSweeper.Props(journal, retention, events, canvases),
                    PoisonPill.Instance, Akka.Cluster.Tools.Singleton.ClusterSingletonManagerSettings.Create(system).WithRole(settings.ShardRole)),
                    Jobs.Actors.Retention.ResultSweeper.Name);
        }
        return new Lazy<IActorRef>(() => system.ActorOf(Akka.Cluster.Tools.Singleton.ClusterSingletonProxy.Props("/user/" + Jobs.Actors.Retention.ResultSweeper.Name,
            Akka.Cluster.Tools.Singleton.ClusterSingletonProxySettings.Create(system).WithRole(settings.ShardRole)), Jobs.Actors.Retention.ResultSweeper.Name + "-proxy"));
    }

    private sealed record BeatRegions(IActorRef Entries, IActorRef Directory, BeatSettings Settings);

    /// Refuses a node in a cluster (one that does not form a cluster of itself) whose journal would be its own SQLite
    /// file: a worker's shards move between workers and recover from whichever journal their new node reads, and an
    /// api node's monitor reads the journal the workers write. Only a standalone node keeps its tasks in SQLite.
    /// </summary>
    /// <param name="readsJournal">The node reads the journal without hosting shards (it serves the monitor).</param>
    public static void RequireSharedJournal(Config config, bool readsJournal = false)
    {
        if (config.GetBoolean("jobs.cluster.join-self") || config.GetString("jobs.persistence.journal", "sqlite") != "sqlite")
            return;
        var hostsShards = config.GetStringList("akka.cluster.roles").Contains(config.GetString("akka.cluster.sharding.role", "worker"));
        if (hostsShards)
            throw new JournalNotSharedException("a worker in a cluster needs the journal the cluster shares: pass --journal redis --redis HOST:PORT " +
                "(on SQLite each worker would keep its own tasks, which are lost to the others when their shards move); only --standalone runs on SQLite");
        if (readsJournal)
            throw new JournalNotSharedException("an api node in a cluster reads the journal its workers write (its monitor's task index is fed from it): " +
                "pass --journal redis --redis HOST:PORT, as to the workers");
    }

    /// <summary>
    /// Waits until each region has registered with its coordinator (a cluster singleton on the oldest worker that
    /// recovers from the journal first), so the worker's first requests are routed at once rather than buffered, which
    /// sharding warns about after a few retries. After the timeout the node starts anyway; the regions keep retrying.
    /// </summary>
    private static async Task RegisteredAsync(Address self, TimeSpan timeout, CancellationToken cancellationToken, params IActorRef[] regions)
    {
        var deadline = DateTime.UtcNow + timeout;
        foreach (var region in regions)
        {
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    // A region that has no coordinator yet answers an empty set itself; otherwise its coordinator answers.
                    var current = await region.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
                    if (current.Regions.Contains(self))
                        break;
                }
                catch (AskTimeoutException)
                {
                }
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The registries behind <c>tasks scheduled</c> and <c>tasks revoked</c>, subscribed to what task entities publish
    /// before any entity starts, so no announcement is missed.
    /// </summary>
    private static void StartTaskLists(ActorSystem system, int revokedListSize)
    {
        var scheduled = system.ActorOf(ScheduledTaskRegistry.Props(), ScheduledTaskRegistry.Name);
        system.EventStream.Subscribe(scheduled, typeof(TaskWaiting));
        system.EventStream.Subscribe(scheduled, typeof(TaskNoLongerWaiting));
        var revoked = system.ActorOf(RevokedTaskIndex.Props(revokedListSize), "revoked-tasks");
        system.EventStream.Subscribe(revoked, typeof(TaskRevoked));
    }

    /// <summary>
    /// Before shards hand off, the worker finishes its running bodies (up to the drain timeout) and gives back the
    /// tasks it has not started, so a graceful stop neither loses nor repeats work.
    /// </summary>
    private static void DrainOnShutdown(ActorSystem system, IActorRef worker, TimeSpan timeout) =>
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "drain-worker", async () =>
        {
            try
            {
                await worker.Ask<Drained>(Drain.Instance, timeout).ConfigureAwait(false);
            }
            catch (AskTimeoutException)
            {
                worker.Tell(AbandonRunning.Instance);
            }
            return Akka.Done.Instance;
        });

    /// <summary>Leaves the cluster gracefully (hands off shards) and stops the actor system.</summary>
    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance).ConfigureAwait(false);
        _bodies?.Dispose();
    }
}

/// <summary>The node left the cluster, or its actor system stopped, before it was Up.</summary>
public sealed class NodeNotUpException(string message) : Exception(message);

/// <summary>A node of a cluster was given a journal of its own (SQLite) instead of the one its cluster shares.</summary>
public sealed class JournalNotSharedException(string message) : Exception(message);
