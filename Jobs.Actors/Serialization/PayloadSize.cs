using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Jobs.Actors.Serialization;

/// <summary>
/// How many bytes a JSON value takes inside a message as <see cref="JobsSerializer"/> writes it. Its encoder escapes
/// non-ASCII and HTML-sensitive characters (up to 6 bytes for one byte of input), so the raw text length is not
/// the size on the wire.
/// </summary>
public static class PayloadSize
{
    /// <summary>Escaping writes at most this many bytes per byte of UTF-8 input ("&lt;" becomes "\u003C").</summary>
    private const int MaxExpansion = 6;

    /// <summary>Below this bound the worst case is taken as the size, which costs nothing to compute.</summary>
    private const long ExactAbove = 64 * 1024;

    /// <summary>The size as sent, never less: exact for large values, the worst case for small ones.</summary>
    public static long Of(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
            return 0;
        var bound = (long)JsonMarshal.GetRawUtf8Value(value).Length * MaxExpansion;
        return bound <= ExactAbove ? bound : Exact(value);
    }

    /// <summary>
    /// Whether <paramref name="first"/> and <paramref name="second"/> together take more than <paramref name="limit"/>
    /// bytes as sent; <paramref name="size"/> is exact whenever the answer is yes.
    /// </summary>
    public static bool Exceeds(long limit, out long size, JsonElement first, JsonElement second = default)
    {
        size = Of(first) + Of(second);
        if (size <= limit)
            return false;
        size = Exact(first) + Exact(second);
        return size > limit;
    }

    /// <summary>The exact number of bytes <see cref="JobsSerializer"/> writes for <paramref name="value"/>.</summary>
    public static long Exact(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
            return 0;
        var counter = new CountingBufferWriter();
        using (var writer = new Utf8JsonWriter(counter))
            value.WriteTo(writer);
        return counter.Count;
    }

    /// <summary>Counts what is written into a small scratch buffer that is reused, so measuring allocates little.</summary>
    private sealed class CountingBufferWriter : IBufferWriter<byte>
    {
        private byte[] _scratch = new byte[4096];

        public long Count { get; private set; }

        public void Advance(int count) => Count += count;

        public Memory<byte> GetMemory(int sizeHint = 0) => Scratch(sizeHint);

        public Span<byte> GetSpan(int sizeHint = 0) => Scratch(sizeHint);

        private byte[] Scratch(int sizeHint)
        {
            if (sizeHint > _scratch.Length)
                _scratch = new byte[sizeHint];
            return _scratch;
        }
    }
}
