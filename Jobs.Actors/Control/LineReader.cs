using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace Jobs.Actors.Control;

/// <summary>
/// Reads UTF-8 lines from a stream, each at most <c>maxLength</c> bytes: unlike <see cref="StreamReader.ReadLineAsync()"/>,
/// a peer that never sends a newline cannot make it buffer without end.
/// </summary>
internal sealed class LineReader(Stream stream, int maxLength)
{
    private readonly PipeReader _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));

    /// <summary>The next line without its "\n" (or "\r\n"), the unterminated rest at the end, or null at the end.</summary>
    /// <exception cref="LineTooLongException">The line is longer than the bound.</exception>
    public async ValueTask<string?> ReadLineAsync(CancellationToken cancel)
    {
        while (true)
        {
            var read = await _pipe.ReadAsync(cancel).ConfigureAwait(false);
            var buffer = read.Buffer;
            if (buffer.PositionOf((byte)'\n') is { } newline)
            {
                var line = buffer.Slice(0, newline);
                if (line.Length > maxLength)
                    throw new LineTooLongException();
                var text = Decode(line);
                _pipe.AdvanceTo(buffer.GetPosition(1, newline));
                return text;
            }
            if (buffer.Length > maxLength)
                throw new LineTooLongException();
            if (read.IsCompleted)
            {
                var rest = buffer.IsEmpty ? null : Decode(buffer);
                _pipe.AdvanceTo(buffer.End);
                return rest;
            }
            _pipe.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static string Decode(ReadOnlySequence<byte> line)
    {
        var text = Encoding.UTF8.GetString(line);
        return text.EndsWith('\r') ? text[..^1] : text;
    }
}

/// <summary>A line longer than the reader's bound.</summary>
internal sealed class LineTooLongException() : Exception("the line is too long");
