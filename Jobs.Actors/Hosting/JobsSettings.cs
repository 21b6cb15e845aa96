using Akka.Configuration;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Hosting;

/// <summary>The <c>jobs</c> section of the configuration, read once per node.</summary>
public sealed record JobsSettings(
    string Journal,
    int NumberOfShards,
    string ShardRole,
    string WorkerHostname,
    int Concurrency,
    int Prefetch,
    IReadOnlyList<string> Queues,
    TimeSpan DrainTimeout,
    TaskRoutes Routes,
    TaskEntitySettings TaskEntity,
    Tasks.PendingIndexSettings Pending,
    Canvas.CanvasSettings Canvas,
    string HttpEndpoint,
    long MaxBodySize,
    TimeSpan ApplyTimeout,
    TimeSpan SubmitTimeout,
    Client.ClientWaits Waits,
    string CommandHost,
    int RevokedListSize,
    Monitoring.MonitoringSettings Monitoring,
    PayloadLimits Payload,
    TimeSpan ReconcileInterval,
    Queues.QueueSettings QueuePartitions,
    TimeSpan PauseCheckInterval,
    TimeSpan PauseThreshold,
    TimeSpan PauseConfirmInterval,
    TimeSpan StartedReportDelay)
{
    public static JobsSettings Create(Config config)
    {
        var jobs = config.GetConfig("jobs") ?? throw new ConfigurationException("the 'jobs' section is missing");
        var concurrency = jobs.GetInt("worker.concurrency", 0);
        var routes = jobs.GetConfig("tasks.routes");
        var routeList = routes is null || routes.IsEmpty
            ? new List<KeyValuePair<string, string>>()
            : routes.AsEnumerable().Select(kv => new KeyValuePair<string, string>(kv.Key.Trim('"'), kv.Value.GetString())).ToList();
        var taskRoutes = new TaskRoutes(jobs.GetString("tasks.default-queue", "default"), routeList);
        var payload = PayloadLimits.Create(config);
        var reconcileInterval = jobs.GetTimeSpan("worker.reconcile-interval", TimeSpan.FromSeconds(5));
        return new JobsSettings(
            Journal: jobs.GetString("persistence.journal", "sqlite"),
            NumberOfShards: jobs.GetInt("sharding.number-of-shards", 100),
            ShardRole: config.GetString("akka.cluster.sharding.role", "worker"),
            WorkerHostname: jobs.GetString("worker.hostname", ""),
            Concurrency: concurrency > 0 ? concurrency : Environment.ProcessorCount,
            Prefetch: Math.Max(0, jobs.GetInt("worker.prefetch", 4)),
            Queues: jobs.GetStringList("worker.queues").ToArray(),
            DrainTimeout: jobs.GetTimeSpan("worker.drain-timeout", TimeSpan.FromSeconds(30)),
            Routes: taskRoutes,
            TaskEntity: new TaskEntitySettings(
                jobs.GetTimeSpan("tasks.passivate-after", TimeSpan.FromSeconds(5)),
                jobs.GetTimeSpan("tasks.enqueue-confirm-timeout", TimeSpan.FromSeconds(5)))
            {
                PassivateAfterAnswered = jobs.GetTimeSpan("tasks.passivate-after-answered", TimeSpan.FromMilliseconds(50)),
                AttemptCheckInterval = jobs.GetTimeSpan("tasks.attempt-check-interval", TimeSpan.FromMinutes(1)),
                MemberAcceptanceDelay = jobs.GetTimeSpan("tasks.member-acceptance-delay", TimeSpan.FromMilliseconds(100)),
                ResultExpires = jobs.GetTimeSpan("tasks.result-expires", TimeSpan.FromDays(1)),
                RestartAfterFailure = Tasks.PendingIndexSettings.UsesIndex(config)
                    ? config.GetTimeSpan("akka.cluster.sharding.entity-restart-backoff", TimeSpan.FromSeconds(2))
                    : null,
            },
            Pending: Tasks.PendingIndexSettings.Create(config),
            Canvas: new Canvas.CanvasSettings(
                taskRoutes,
                jobs.GetTimeSpan("canvas.passivate-after", TimeSpan.FromSeconds(30)),
                jobs.GetTimeSpan("canvas.reask-interval", TimeSpan.FromSeconds(10)),
                jobs.GetInt("canvas.snapshot-every", 500),
                jobs.GetInt("canvas.max-in-flight", 2000),
                jobs.GetInt("canvas.release-memory-after", 10000))
            {
                ResultExpires = jobs.GetTimeSpan("tasks.result-expires", TimeSpan.FromDays(1)),
            },
            HttpEndpoint: jobs.GetString("http.endpoint", "127.0.0.1:5555"),
            MaxBodySize: jobs.GetLong("http.max-body-size", 1024 * 1024),
            ApplyTimeout: jobs.GetTimeSpan("http.apply-timeout", TimeSpan.FromSeconds(60)),
            SubmitTimeout: jobs.GetTimeSpan("http.submit-timeout", TimeSpan.FromSeconds(10)),
            Waits: new Client.ClientWaits(
                jobs.GetTimeSpan("client.wait-timeout", Client.ClientWaits.Default.DefaultTimeout),
                jobs.GetTimeSpan("client.reask-interval", Client.ClientWaits.Default.ReaskInterval)),
            CommandHost: jobs.GetString("commands.host", "127.0.0.1"),
            RevokedListSize: Math.Max(1, jobs.GetInt("tasks.revoked-list-size", 10000)),
            Monitoring: Jobs.Actors.Monitoring.MonitoringSettings.Create(config),
            Payload: payload,
            ReconcileInterval: reconcileInterval,
            QueuePartitions: new Queues.QueueSettings(payload.MaxBatchBytes)
            {
                StealInterval = jobs.GetTimeSpan("queues.steal-interval", TimeSpan.FromMilliseconds(200)),
                FindTimeout = jobs.GetTimeSpan("queues.find-timeout", TimeSpan.FromSeconds(2)),
                SyncInterval = reconcileInterval,
            },
            PauseCheckInterval: jobs.GetTimeSpan("worker.pause-check-interval", TimeSpan.FromMilliseconds(250)),
            PauseThreshold: jobs.GetTimeSpan("worker.pause-threshold", TimeSpan.FromSeconds(1)),
            PauseConfirmInterval: jobs.GetTimeSpan("worker.pause-confirm-interval", TimeSpan.FromSeconds(1)),
            StartedReportDelay: jobs.GetTimeSpan("worker.started-report-delay", TimeSpan.FromMilliseconds(100)));
    }
}
