using System.Text.Json;
using Akka.Persistence.Query;
using Jobs.Actors.Monitoring;
using Jobs.Actors.Persistence.Redis.Query;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Jobs.Tests.Monitoring;

/// <summary>The SQLite task index on a temp file: events recorded once, offsets kept, paging, and the max-tasks bound.</summary>
public sealed class TaskIndexSpec : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);
    private static readonly JsonElement Args = JsonDocument.Parse("[1]").RootElement.Clone();
    private readonly string _path = Path.Combine(Path.GetTempPath(), "jobs-index-" + Guid.NewGuid().ToString("N")[..12] + ".db");

    private static TaskEvent Received(string id, int second) =>
        new(EventTypes.TaskReceived, id, "tasks.add", "RECEIVED", T0.AddSeconds(second), Args: Args);

    private static TaskEvent Succeeded(string id, int second, string? name = "tasks.add") =>
        new(EventTypes.TaskSucceeded, id, name, "SUCCESS", T0.AddSeconds(second), "w1", Result: Args, Runtime: 0.1);

    [Fact]
    public void An_event_arriving_live_and_again_from_the_journal_is_recorded_once()
    {
        using var index = TaskIndex.Open(_path, 4096);
        Assert.Equal(2, index.Write([Received("a", 0), Succeeded("a", 1) with { Retries = 2 }]).Count);
        var again = index.Write([Received("a", 0), Succeeded("a", 1, name: null)], "task", Offset.Sequence(17));
        Assert.Empty(again);
        Assert.Equal(Offset.Sequence(17), index.Offset("task"));
        var timeline = index.Timeline("a");
        Assert.Equal("SUCCESS", timeline.Task!.State);
        Assert.Equal(2, timeline.Events.Count);
        Assert.Equal(1, index.Query(TaskQuery.Parse(null, null, null, null, null, null, null, null, null)).Total);
    }

    [Fact]
    public void Journaled_events_recorded_with_their_sequence_number_are_not_lacking_and_the_others_are()
    {
        using var index = TaskIndex.Open(_path, 4096);
        index.Write([Received("d", 0) with { JournalSequenceNr = 1 }, Succeeded("e", 1)]);
        Assert.Equal([1, 2, 3], index.Lacking([("d", 1), ("d", 2), ("e", 2), ("f", 1)]));
    }

    [Fact]
    public void Events_replayed_from_the_journal_are_returned_with_the_tasks_name()
    {
        using var index = TaskIndex.Open(_path, 4096);
        index.Write([Received("b", 0)], "task", Offset.Sequence(1));
        var fresh = Assert.Single(index.Write([Succeeded("b", 1, name: null)], "task", Offset.Sequence(2)));
        Assert.Equal("tasks.add", fresh.Name);
    }

    [Fact]
    public void The_index_survives_reopening_with_its_rows_and_offset()
    {
        using (var index = TaskIndex.Open(_path, 4096))
            index.Write([Received("c", 0), Succeeded("c", 1)], "task", Offset.Sequence(42));
        using var reopened = TaskIndex.Open(_path, 4096);
        Assert.Equal(Offset.Sequence(42), reopened.Offset("task"));
        Assert.Equal("SUCCESS", reopened.Timeline("c").Task!.State);
    }

    [Fact]
    public void A_partitioned_journal_offset_is_kept_with_a_position_per_partition()
    {
        using (var index = TaskIndex.Open(_path, 4096))
        {
            Assert.Equal(Offset.Sequence(0), index.Offset("task"));
            index.Write([Received("p", 0)], "task", new PartitionedOffset([1733086800123000005, 0, 7, 1733086800124000000]));
        }
        using var reopened = TaskIndex.Open(_path, 4096);
        var offset = Assert.IsType<PartitionedOffset>(reopened.Offset("task"));
        Assert.Equal([1733086800123000005, 0, 7, 1733086800124000000], offset.Positions);
    }

    [Fact]
    public void An_index_whose_offsets_were_stored_as_integers_is_read_on_from_them()
    {
        using (var connection = new SqliteConnection($"Data Source={_path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE offsets (stream TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT INTO offsets VALUES ('task', 1733086800123000005);
                """;
            command.ExecuteNonQuery();
        }
        using var index = TaskIndex.Open(_path, 4096);
        Assert.Equal(Offset.Sequence(1733086800123000005), index.Offset("task"));
        index.Write([], "task", new PartitionedOffset([3, 4]));
        Assert.Equal(new PartitionedOffset([3, 4]), index.Offset("task"));
        index.Write([], "task", Offset.Sequence(99));
        Assert.Equal(Offset.Sequence(99), index.Offset("task"));
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_replaced_by_an_empty_index_when_asked()
    {
        var garbage = Enumerable.Range(0, 64 * 1024).Select(i => (byte)(i * 7919 % 251)).ToArray();
        File.WriteAllBytes(_path, garbage);
        Assert.Throws<SqliteException>(() => TaskIndex.Open(_path, 4096).Dispose());
        using var index = TaskIndex.Open(_path, 4096, recreateIfCorrupt: true);
        Assert.True(index.Recreated);
        // Moved aside, not deleted: the path may have been someone's file.
        Assert.Equal(garbage, File.ReadAllBytes(_path + TaskIndex.CorruptSuffix));
        Assert.Equal(Offset.Sequence(0), index.Offset("task"));
        index.Write([Received("g", 0)], "task", Offset.Sequence(3));
        Assert.Equal("RECEIVED", index.Timeline("g").Task!.State);
    }

    [Fact]
    public void An_index_with_torn_pages_is_replaced_by_an_empty_one_and_a_sound_one_is_kept()
    {
        using (var index = TaskIndex.Open(_path, 4096))
        {
            for (var i = 0; i < 50; i++)
                index.Write(Enumerable.Range(0, 20).SelectMany(j => new[] { Received($"t{i}-{j}", i), Succeeded($"t{i}-{j}", i + 1) }).ToArray(), "task", Offset.Sequence(i));
        }
        using (var sound = TaskIndex.Open(_path, 4096, recreateIfCorrupt: true))
        {
            Assert.False(sound.Recreated);
            Assert.Equal(Offset.Sequence(49), sound.Offset("task"));
        }
        // As a machine crash may leave it: the header intact, pages behind it overwritten.
        using (var file = File.OpenWrite(_path))
        {
            file.Position = 4096;
            file.Write(Enumerable.Repeat((byte)0xA5, (int)Math.Min(64 * 1024, file.Length - 4096)).ToArray());
        }
        using var replaced = TaskIndex.Open(_path, 4096, recreateIfCorrupt: true);
        Assert.True(replaced.Recreated);
        Assert.Equal(0, replaced.Query(TaskQuery.Parse(null, null, null, null, null, null, null, null, null)).Total);
    }

    [Fact]
    public void Beyond_max_tasks_the_oldest_finished_tasks_leave_and_unfinished_ones_stay()
    {
        using var index = TaskIndex.Open(_path, 4096, maxTasks: 100);
        index.Write([Received("waiting", 0)]);
        for (var i = 1; i <= 150; i++)
            index.Write([Received($"t{i:000}", i), Succeeded($"t{i:000}", i)]);
        var all = index.Query(TaskQuery.Parse("1000", null, "received", null, null, null, null, null, null));
        Assert.InRange(all.Total, 100, 101);
        Assert.Equal("waiting", all.Tasks[0].Uuid);
        Assert.Equal("t150", all.Tasks[^1].Uuid);
        Assert.Null(index.Timeline("t001").Task);
        Assert.Empty(index.Timeline("t001").Events);
    }

    [Fact]
    public void Finished_tasks_never_seen_received_leave_after_every_received_one()
    {
        using var index = TaskIndex.Open(_path, 4096, maxTasks: 100);
        // Finished tasks whose task-received the index never saw (only their result reached it) have no received time.
        for (var i = 0; i < 5; i++)
            index.Write([Succeeded($"unreceived{i}", i)]);
        for (var i = 1; i <= 150; i++)
            index.Write([Received($"t{i:000}", 10 + i), Succeeded($"t{i:000}", 10 + i)]);
        var all = index.Query(TaskQuery.Parse("1000", null, "received", null, null, null, null, null, null));
        Assert.InRange(all.Total, 100, 101);
        Assert.Equal(5, all.Tasks.Count(t => t.Uuid.StartsWith("unreceived", StringComparison.Ordinal)));
        Assert.Null(index.Timeline("t050").Task);
        Assert.Equal("t150", all.Tasks.Last(t => t.Received is not null).Uuid);
    }

    [Fact]
    public void A_rows_columns_and_its_events_bodies_come_back_as_written()
    {
        using var index = TaskIndex.Open(_path, 4096);
        var kwargs = JsonDocument.Parse("""{"greeting": "Grüße ✓"}""").RootElement.Clone();
        var received = Received("ü-1", 0) with { Kwargs = kwargs, Queue = "default", JournalSequenceNr = 1 };
        var failed = new TaskEvent(EventTypes.TaskFailed, "ü-1", "tasks.add", "FAILURE", T0.AddSeconds(2), "w1", Args, kwargs,
            Exception: "ValueError('ß')", Traceback: null, Runtime: 0.25, Retries: 3, Queue: "default", JournalSequenceNr: 2);
        index.Write([received, failed]);
        // Over 4 KB of body, past the buffer the index starts with.
        var big = Succeeded("big", 5) with { Result = JsonDocument.Parse(JsonSerializer.Serialize(new string('x', 5000))).RootElement.Clone() };
        index.Write([big]);

        var timeline = index.Timeline("ü-1");
        var row = timeline.Task!;
        Assert.Equal(("FAILURE", "tasks.add", "w1", "default", 3), (row.State, row.Name, row.Worker, row.Queue, row.Retries));
        Assert.Equal("ValueError('ß')", row.Exception);
        Assert.Null(row.Traceback);
        Assert.Equal(0.25, row.Runtime);
        Assert.Equal(MonitoringJson.Epoch(T0), row.Received);
        Assert.Equal("""{"greeting": "Grüße ✓"}""", row.Kwargs);
        Assert.Equal([MonitoringJson.Event(received), MonitoringJson.Event(failed)], timeline.Events);
        Assert.Equal([MonitoringJson.Event(big)], index.Timeline("big").Events);
        Assert.Empty(index.Lacking([("ü-1", 1), ("ü-1", 2)]));
    }

    public void Dispose()
    {
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(_path)!, Path.GetFileName(_path) + "*"))
            File.Delete(file);
    }
}
