using System.Collections.Concurrent;
using System.Data.Common;
using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Jobs.Actors.Persistence.Sqlite;
using LinqToDB.Interceptors;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Jobs.Tests.Persistence;

/// <summary>
/// The embedded journal's tag reads (<see cref="TagAggregateRewrite"/>): linq2db's translation of Akka.Persistence.Sql's
/// per-event tag aggregate scans the whole tag table for every event read; the rewrite correlates it by the tag table's
/// key, with the same results. Checked on the plugin's own tables and its own commands, seen after the rewrite by an
/// interceptor registered behind it.
/// </summary>
public sealed class TagAggregateRewriteSpec : TestKit
{
    /// <summary>What linq2db 6.5 generates for EventsByTag's page on SQLite (captured from the plugin, its column list cut to two).</summary>
    private const string Generated = """
        SELECT
        	[x_1].[Ordering],
        	[x_1].[Message],
        	(
        		SELECT
        			GROUP_CONCAT(CASE
        				WHEN [t1].[ordering_id] = [x_1].[Ordering] THEN [t1].[tag]
        				ELSE NULL
        			END, ';')
        		FROM
        			[tags] [t1]
        	)
        FROM
        	(
        		SELECT [x].[ordering] as [Ordering], [x].[message] as [Message]
        		FROM [journal] [x] INNER JOIN [tags] [lp] ON [lp].[ordering_id] = [x].[ordering]
        		WHERE [lp].[ordering_id] > @Offset AND [lp].[ordering_id] <= @MaxOffset AND NOT [x].[deleted] AND [lp].[tag] = @Tag
        		ORDER BY [x].[ordering]
        		LIMIT @take
        	) [x_1]
        """;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly string _path;
    private readonly Spy _spy;

    public TagAggregateRewriteSpec() : this(PersistenceBackends.TempSqlitePath(), new Spy())
    {
    }

    private TagAggregateRewriteSpec(string path, Spy spy) : base(PersistenceBackends.Setup(PersistenceBackends.Sqlite(path), spy))
    {
        _path = path;
        _spy = spy;
    }

    [Fact]
    public void The_rewrite_correlates_the_aggregate_and_leaves_every_other_command_as_it_was()
    {
        var rewritten = TagAggregateRewrite.Rewrite(Generated);
        Assert.DoesNotContain("CASE", rewritten);
        Assert.Contains("GROUP_CONCAT([t1].[tag], ';') FROM [tags] [t1] WHERE [t1].[ordering_id] = [x_1].[Ordering])", rewritten);
        Assert.Equal(Generated[Generated.IndexOf("FROM\n\t(", StringComparison.Ordinal)..],
            rewritten[rewritten.IndexOf("FROM\n\t(", StringComparison.Ordinal)..]);

        const string insert = "INSERT INTO [tags] ([ordering_id], [tag]) VALUES (@o, @t)";
        Assert.Same(insert, TagAggregateRewrite.Rewrite(insert));
        // An aggregate of another shape (not over the tag table) is not touched.
        const string other = "SELECT GROUP_CONCAT(CASE WHEN [a].[x] = [b].[y] THEN [a].[z] ELSE NULL END, ';') FROM [other] [a]";
        Assert.Equal(other, TagAggregateRewrite.Rewrite(other));
    }

    [Fact]
    public async Task Tag_reads_come_back_the_same_and_look_tags_up_by_their_key_instead_of_scanning_them()
    {
        // Events with two tags, one, and none, interleaved over three ids.
        Write("a", 1, ["red", "blue"]);
        Write("b", 1, []);
        Write("c", 1, ["red"]);
        Write("a", 2, ["blue"]);
        Write("b", 2, ["red", "green"]);

        var queries = PersistenceQuery.Get(Sys).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        var red = await queries.CurrentEventsByTag("red", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer()).WaitAsync(Wait);
        Assert.Equal(new[] { ("a", 1L, "blue,red"), ("c", 1L, "red"), ("b", 2L, "green,red") },
            red.Select(e => (e.PersistenceId, e.SequenceNr, string.Join(",", e.Tags.Order(StringComparer.Ordinal)))));
        var blue = await queries.CurrentEventsByTag("blue", Offset.NoOffset()).RunWith(Sink.Seq<EventEnvelope>(), Sys.Materializer()).WaitAsync(Wait);
        Assert.Equal(new[] { ("a", 1L), ("a", 2L) }, blue.Select(e => (e.PersistenceId, e.SequenceNr)));
        Assert.Equal(["blue"], blue[1].Tags);

        var aggregates = _spy.Commands.Where(c => c.Contains("GROUP_CONCAT", StringComparison.Ordinal)).Distinct().ToArray();
        Assert.NotEmpty(aggregates);
        using var connection = new SqliteConnection($"Data Source={_path}");
        connection.Open();
        foreach (var command in aggregates)
        {
            Assert.DoesNotContain("GROUP_CONCAT(CASE", command);
            Assert.StartsWith("SEARCH", TagSubqueryPlan(connection, command));
        }
        // The check would catch the scan: linq2db's own text, on the same tables, scans the tag table for each event.
        Assert.StartsWith("SCAN", TagSubqueryPlan(connection, Generated));
        Assert.StartsWith("SEARCH", TagSubqueryPlan(connection, TagAggregateRewrite.Rewrite(Generated)));
    }

    /// <summary>How SQLite reads the tag table in the command's correlated subquery (the plan's line after it).</summary>
    private static string TagSubqueryPlan(SqliteConnection connection, string commandText)
    {
        using var explain = connection.CreateCommand();
        explain.CommandText = "EXPLAIN QUERY PLAN " + commandText;
        // Microsoft.Data.Sqlite wants every parameter bound; a plan does not depend on their values.
        foreach (var name in System.Text.RegularExpressions.Regex.Matches(commandText, @"@\w+").Select(m => m.Value).Distinct())
            explain.Parameters.AddWithValue(name, DBNull.Value);
        var details = new List<string>();
        using (var reader = explain.ExecuteReader())
            while (reader.Read())
                details.Add(reader.GetString(3));
        var subquery = details.FindIndex(d => d.StartsWith("CORRELATED SCALAR SUBQUERY", StringComparison.Ordinal));
        Assert.True(subquery >= 0 && subquery + 1 < details.Count, "no correlated subquery in the plan: " + string.Join(" | ", details));
        return details[subquery + 1];
    }

    private void Write(string persistenceId, long sequenceNr, string[] tags)
    {
        object payload = tags.Length == 0 ? $"{persistenceId}-{sequenceNr}" : new Tagged($"{persistenceId}-{sequenceNr}", tags);
        var probe = CreateTestProbe();
        Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null).Tell(new WriteMessages(
            [new AtomicWrite(new Persistent(payload, sequenceNr, persistenceId, string.Empty, false, ActorRefs.NoSender, "w"))], probe.Ref, 1));
        probe.ExpectMsg<WriteMessagesSuccessful>(Wait);
        probe.ExpectMsg<WriteMessageSuccess>(Wait);
    }

    protected override void AfterAll()
    {
        base.AfterAll();
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _path, _path + "-wal", _path + "-shm" })
            File.Delete(file);
    }

    /// <summary>Every command the plugin runs, as it runs it (registered after the rewrite).</summary>
    private sealed class Spy : CommandInterceptor
    {
        public ConcurrentQueue<string> Commands { get; } = new();

        public override DbCommand CommandInitialized(CommandEventData eventData, DbCommand command)
        {
            Commands.Enqueue(command.CommandText);
            return command;
        }
    }
}
