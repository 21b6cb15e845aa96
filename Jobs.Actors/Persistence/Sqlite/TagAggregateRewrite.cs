using System.Data.Common;
using System.Text.RegularExpressions;
using LinqToDB.Interceptors;

namespace Jobs.Actors.Persistence.Sqlite;

/// <summary>
/// Akka.Persistence.Sql reads an event's tags from the tag table with a correlated subquery per event row
/// (<c>tags WHERE ordering_id = row.ordering</c>, aggregated with <c>StringAggregate</c>). linq2db 6.5 translates it for
/// SQLite as <c>SELECT GROUP_CONCAT(CASE WHEN t.ordering_id = row.ordering THEN t.tag END, ';') FROM tags t</c>: the
/// correlation moves into the aggregate and the subquery has no WHERE, so every event read scans the whole tag table.
/// EventsByTag (the monitor's journal sweep) and every recovery with events pay it, and the cost grows with the journal:
/// in W6 on SQLite a sweep's page took 0.78 s inside SQLite with ~22,000 tag rows (most of a core at 240 tasks/s), and
/// a page of 1,000 events 3.5 s on a journal file with 52,000.
/// <para>
/// This rewrites that subquery, before the command runs, into <c>SELECT GROUP_CONCAT(t.tag, ';') FROM tags t WHERE
/// t.ordering_id = row.ordering</c>: the same value (GROUP_CONCAT skips the NULLs the CASE gave every other row; no
/// matching row is NULL either way), read from the tag table's primary key (ordering_id, tag): that page then took
/// 28 ms. Any other command passes unchanged, and so does the aggregate over a tag table renamed in the plugin's
/// <c>tables</c> settings (the journal keeps the default name, <c>tags</c>): correct, only slow.
/// </para>
/// </summary>
public sealed partial class TagAggregateRewrite : CommandInterceptor
{
    public static readonly TagAggregateRewrite Instance = new();

    public override DbCommand CommandInitialized(CommandEventData eventData, DbCommand command)
    {
        command.CommandText = Rewrite(command.CommandText);
        return command;
    }

    /// <summary>The command text with every whole-table tag aggregate correlated by a WHERE instead.</summary>
    public static string Rewrite(string commandText) =>
        commandText.Contains("GROUP_CONCAT(CASE", StringComparison.Ordinal)
            ? WholeTableAggregate().Replace(commandText, "GROUP_CONCAT(${alias}.[tag], ';') FROM [tags] ${alias} WHERE ${alias}.[ordering_id] = ${row})")
            : commandText;

    [GeneratedRegex(
        @"GROUP_CONCAT\(CASE\s+WHEN\s+(?<alias>\[\w+\])\.\[ordering_id\]\s*=\s*(?<row>\[\w+\]\.\[\w+\])\s+THEN\s+\k<alias>\.\[tag\]\s+ELSE\s+NULL\s+END,\s*';'\)\s+FROM\s+\[tags\]\s+\k<alias>\s*\)",
        RegexOptions.CultureInvariant)]
    private static partial Regex WholeTableAggregate();
}
