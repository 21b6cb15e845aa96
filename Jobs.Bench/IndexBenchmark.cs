using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence.Query;
using Jobs.Actors.Hosting;
using Jobs.Actors.Monitoring;

namespace Jobs.Bench;

/// <summary>
/// The monitor's task index alone, fed as W1 feeds it on a node: live batches of up to 1,000 events (each task's
/// task-received, task-started and task-succeeded, 64 tasks in flight, so a batch mixes the steps of different
/// tasks), and every 5 s of W1's rate a journal sweep over the entries journaled since the last one (received and
/// succeeded of each task), asking in pages of 1,000 entries which the index lacks (none: the live feed brought
/// them) and storing each page's offset. Prints tasks per second and this process's CPU-µs per task (user + system,
/// so SQLite's work is counted); the index file is new for each run.
/// <para>
/// With <c>--actors</c> the batches go through a <see cref="TaskIndexWriter"/> on <c>jobs.monitor.dispatcher</c>
/// instead, one every 145 ms (W1's rate) so its thread idles between them as on a node, and the CPU counted includes
/// the idle dispatcher's; <c>--dispatcher channel</c> puts the writer on the channel executor instead of its own thread.
/// </para>
/// </summary>
public static class IndexBenchmark
{
    private const int BatchSize = 1000;
    private const int InFlight = 64;
    // W1 at ~2,300 tasks/s, 3 events each, with a sweep every 5 s: a sweep per ~35 live batches.
    private const int BatchesPerSweep = 35;

    public static async Task RunAsync(string[] args)
    {
        string? Option(string name) => Array.IndexOf(args, name) is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        var tasks = int.Parse(Option("--tasks") ?? "50000", CultureInfo.InvariantCulture);
        if (args.Contains("--actors"))
        {
            await RunActorsAsync(tasks, Option("--dispatcher") ?? "pinned");
            return;
        }
        // Not measured: the first batches pay for JIT compilation.
        Measure(Math.Min(tasks, 5_000));
        var (seconds, cpu, sweeps) = Measure(tasks);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"index: {tasks} tasks ({tasks * 3} events, {sweeps} sweeps) in {seconds:0.000} s: {tasks / seconds:0} tasks/s, {cpu.TotalMicroseconds / tasks:0.0} CPU-µs per task"));
    }

    private static (double Seconds, TimeSpan Cpu, int Sweeps) Measure(int tasks)
    {
        var path = Path.Combine(Path.GetTempPath(), "jobs-index-bench-" + Guid.NewGuid().ToString("N")[..12] + ".db");
        try
        {
            var events = Events(tasks);
            using var index = TaskIndex.Open(path, 4096, 100_000);
            var meter = new CpuMeter();
            var journaled = new List<(string Uuid, long SequenceNr)>();
            long offset = 0;
            var sweeps = 0;
            var batches = 0;
            foreach (var batch in events.Chunk(BatchSize))
            {
                index.Write(batch);
                journaled.AddRange(batch.Where(e => e.JournalSequenceNr > 0).Select(e => (e.Uuid, e.JournalSequenceNr)));
                if (++batches % BatchesPerSweep == 0)
                {
                    Sweep(index, journaled, ref offset);
                    sweeps++;
                }
            }
            Sweep(index, journaled, ref offset);
            sweeps++;
            return (meter.Clock.Elapsed.TotalSeconds, meter.Cpu(), sweeps);
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + "*"))
                File.Delete(file);
        }
    }

    private static async Task RunActorsAsync(int tasks, string dispatcher)
    {
        var path = Path.Combine(Path.GetTempPath(), "jobs-index-bench-" + Guid.NewGuid().ToString("N")[..12] + ".db");
        var executor = dispatcher switch
        {
            "pinned" => "",
            "channel" => "jobs.monitor.dispatcher { type = Dispatcher, executor = channel-executor }",
            _ => throw new ArgumentException($"unknown --dispatcher '{dispatcher}'; known: pinned, channel"),
        };
        var config = JobsConfig.Load(ConfigurationFactory.ParseString($"""
            akka.loglevel = WARNING
            akka.actor.provider = local
            jobs.monitor.index-path = {JobsConfig.Quote(path)}
            {executor}
            """));
        try
        {
            using var system = ActorSystem.Create("index-bench", config);
            var writer = system.ActorOf(TaskIndexWriter.Props(MonitoringSettings.Create(config), new TaskMetrics()));
            var events = Events(tasks);
            var meter = new CpuMeter();
            var clock = meter.Clock;
            var journaled = new List<(string Uuid, long SequenceNr)>();
            long offset = 0;
            var batches = 0;
            var timeout = TimeSpan.FromSeconds(30);
            foreach (var batch in events.Chunk(BatchSize))
            {
                var due = clock.Elapsed + TimeSpan.FromMilliseconds(145);
                await writer.Ask<LiveEventsWritten>(new WriteTaskEvents(batch), timeout);
                journaled.AddRange(batch.Where(e => e.JournalSequenceNr > 0).Select(e => (e.Uuid, e.JournalSequenceNr)));
                if (++batches % BatchesPerSweep == 0)
                {
                    foreach (var page in journaled.Chunk(BatchSize))
                    {
                        await writer.Ask<LackingEvents>(new FindLackingEvents(page), timeout);
                        offset += page.Length;
                        await writer.Ask<IndexOffset>(new WriteTaskEvents([], "task", Reached(offset)), timeout);
                    }
                    journaled.Clear();
                }
                if (due > clock.Elapsed)
                    await Task.Delay(due - clock.Elapsed);
            }
            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"index --actors --dispatcher {dispatcher}: {tasks} tasks in {seconds:0.000} s, {meter.Cpu().TotalMicroseconds / tasks:0.0} CPU-µs per task"));
            await system.Terminate();
        }
        finally
        {
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(path) + "*"))
                File.Delete(file);
        }
    }

    /// <summary>One sweep as the monitor's: a lacking lookup and an offset write per page of tag entries.</summary>
    private static void Sweep(TaskIndex index, List<(string Uuid, long SequenceNr)> journaled, ref long offset)
    {
        foreach (var page in journaled.Chunk(BatchSize))
        {
            if (index.Lacking(page).Count != 0)
                throw new InvalidOperationException("the index lacks events the live feed brought");
            offset += page.Length;
            index.Write([], "task", Reached(offset));
        }
        journaled.Clear();
    }

    private static Offset Reached(long offset) => Offset.Sequence(offset);

    /// <summary>This process's wall-clock and CPU time (user + system) since the meter was made.</summary>
    private sealed class CpuMeter
    {
        private readonly Process _process = Process.GetCurrentProcess();
        private readonly TimeSpan _start;

        public CpuMeter()
        {
            _process.Refresh();
            _start = _process.TotalProcessorTime;
            Clock = Stopwatch.StartNew();
        }

        public Stopwatch Clock { get; }

        public TimeSpan Cpu()
        {
            _process.Refresh();
            return _process.TotalProcessorTime - _start;
        }
    }

    /// <summary>W1's live events: task i is received as task i - 32 starts and task i - 64 succeeds.</summary>
    private static List<TaskEvent> Events(int tasks)
    {
        var args = JsonSerializer.SerializeToElement(new[] { 2, 2 });
        var kwargs = JsonSerializer.SerializeToElement(new { });
        var result = JsonSerializer.SerializeToElement(4);
        var ids = Enumerable.Range(0, tasks).Select(_ => Jobs.Actors.Client.TaskIds.New()).ToArray();
        var t0 = DateTimeOffset.UtcNow;
        var events = new List<TaskEvent>(tasks * 3);
        for (var i = 0; i < tasks + InFlight; i++)
        {
            var at = t0.AddMilliseconds(i * 0.4);
            if (i < tasks)
                events.Add(new TaskEvent(EventTypes.TaskReceived, ids[i], "tasks.add", "RECEIVED", at, Args: args, Kwargs: kwargs,
                    Queue: "default", JournalSequenceNr: 1));
            if (i - InFlight / 2 is var started and >= 0 && started < tasks)
                events.Add(new TaskEvent(EventTypes.TaskStarted, ids[started], "tasks.add", "STARTED", at, "worker-1@bench", args, kwargs,
                    Queue: "default", Started: at));
            if (i - InFlight is var succeeded and >= 0)
                events.Add(new TaskEvent(EventTypes.TaskSucceeded, ids[succeeded], "tasks.add", "SUCCESS", at, "worker-1@bench", args, kwargs,
                    result, Runtime: 0.0004, Queue: "default", Started: at.AddMilliseconds(-12.8), JournalSequenceNr: 2));
        }
        return events;
    }
}
