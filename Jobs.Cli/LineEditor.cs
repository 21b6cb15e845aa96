using System.Text;

namespace Jobs.Cli;

/// <summary>
/// Reads a line from the keyboard with editing, history (Up/Down) and tab completion (Tab completes the common
/// prefix, a second Tab lists the choices). When input is redirected it reads plain lines, so scripts can drive it.
/// </summary>
public sealed class LineEditor(Func<string, IReadOnlyList<string>> complete)
{
    private readonly List<string> _history = new();

    public IReadOnlyList<string> History => _history;

    public void Remember(string line)
    {
        if (line.Length > 0 && (_history.Count == 0 || _history[^1] != line))
            _history.Add(line);
    }

    /// <summary>The next line, or null at the end of input (Ctrl-D on an empty line).</summary>
    public string? ReadLine(string prompt)
    {
        Console.Write(prompt);
        if (Console.IsInputRedirected)
        {
            var line = Console.In.ReadLine();
            Console.WriteLine(line ?? "");
            return line;
        }
        var intercept = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
        try
        {
            return Edit(prompt);
        }
        finally
        {
            Console.TreatControlCAsInput = intercept;
        }
    }

    private string? Edit(string prompt)
    {
        var buffer = new StringBuilder();
        var cursor = 0;
        var recalled = _history.Count;
        var tabs = 0;
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            tabs = key.Key == ConsoleKey.Tab ? tabs + 1 : 0;
            var control = key.Modifiers.HasFlag(ConsoleModifiers.Control);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    return buffer.ToString();
                case ConsoleKey.C when control:
                    Console.WriteLine("^C");
                    return "";
                case ConsoleKey.D when control && buffer.Length == 0:
                    Console.WriteLine();
                    return null;
                case ConsoleKey.Backspace when cursor > 0:
                    buffer.Remove(--cursor, 1);
                    break;
                case ConsoleKey.Delete when cursor < buffer.Length:
                    buffer.Remove(cursor, 1);
                    break;
                case ConsoleKey.LeftArrow when cursor > 0:
                    cursor--;
                    break;
                case ConsoleKey.RightArrow when cursor < buffer.Length:
                    cursor++;
                    break;
                case ConsoleKey.Home:
                case ConsoleKey.A when control:
                    cursor = 0;
                    break;
                case ConsoleKey.End:
                case ConsoleKey.E when control:
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.U when control:
                    buffer.Remove(0, cursor);
                    cursor = 0;
                    break;
                case ConsoleKey.W when control:
                    var start = cursor;
                    while (start > 0 && buffer[start - 1] == ' ')
                        start--;
                    while (start > 0 && buffer[start - 1] != ' ')
                        start--;
                    buffer.Remove(start, cursor - start);
                    cursor = start;
                    break;
                case ConsoleKey.UpArrow when recalled > 0:
                    Replace(buffer, _history[--recalled], ref cursor);
                    break;
                case ConsoleKey.DownArrow when recalled < _history.Count:
                    recalled++;
                    Replace(buffer, recalled < _history.Count ? _history[recalled] : "", ref cursor);
                    break;
                case ConsoleKey.Tab:
                    Complete(prompt, buffer, ref cursor, listChoices: tabs > 1);
                    break;
                default:
                    if (!char.IsControl(key.KeyChar))
                        buffer.Insert(cursor++, key.KeyChar);
                    break;
            }
            Redraw(prompt, buffer, cursor);
        }
    }

    private void Complete(string prompt, StringBuilder buffer, ref int cursor, bool listChoices)
    {
        var before = buffer.ToString(0, cursor);
        var wordStart = before.LastIndexOf(' ') + 1;
        var word = before[wordStart..];
        var choices = complete(before).Where(c => c.StartsWith(word, StringComparison.Ordinal)).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (choices.Length == 0)
            return;
        var common = choices.Aggregate((a, b) => a[..CommonLength(a, b)]);
        var insert = common[word.Length..] + (choices.Length == 1 ? " " : "");
        if (insert.Length > 0)
        {
            buffer.Insert(cursor, insert);
            cursor += insert.Length;
        }
        else if (listChoices)
        {
            Console.WriteLine();
            Console.WriteLine(string.Join("  ", choices));
            Console.Write(prompt);
        }
    }

    private static int CommonLength(string a, string b)
    {
        var n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n])
            n++;
        return n;
    }

    private static void Replace(StringBuilder buffer, string text, ref int cursor)
    {
        buffer.Clear().Append(text);
        cursor = buffer.Length;
    }

    /// <summary>Rewrites the line (ANSI: clear to end, then back to the cursor).</summary>
    private static void Redraw(string prompt, StringBuilder buffer, int cursor)
    {
        Console.Write($"\r{prompt}{buffer}\u001b[K");
        if (buffer.Length > cursor)
            Console.Write($"\u001b[{buffer.Length - cursor}D");
    }
}
