using System.Globalization;
using Akka.Persistence.Query;

namespace Jobs.Actors.Persistence.Redis.Query;

/// <summary>
/// Where an events-by-tag query of a journal with several partitions stands: one position per partition (the
/// <see cref="Sequence"/> value of the last entry read from that partition's tag stream, 0 for none). Each envelope
/// carries the positions after itself, so resuming from any envelope's offset loses nothing and repeats nothing.
/// Store it with <see cref="ToString"/> and read it back with <see cref="Parse"/>. A journal with one partition uses
/// plain <see cref="Sequence"/> offsets instead.
/// </summary>
public sealed class PartitionedOffset : Offset
{
    public PartitionedOffset(IReadOnlyList<long> positions)
    {
        if (positions.Count == 0 || positions.Any(p => p < 0))
            throw new ArgumentException("a partitioned offset has one position of at least 0 per partition", nameof(positions));
        Positions = positions.ToArray();
    }

    public IReadOnlyList<long> Positions { get; }

    /// <summary>The inverse of <see cref="ToString"/>: positions separated by commas.</summary>
    public static PartitionedOffset Parse(string text)
    {
        var parts = text.Split(',');
        var positions = new long[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out positions[i]))
                throw new FormatException($"'{text}' is not a partitioned offset (positions separated by commas)");
        }
        return new PartitionedOffset(positions);
    }

    public override string ToString() => string.Join(",", Positions.Select(p => p.ToString(CultureInfo.InvariantCulture)));

    /// <summary>Ahead when no position is behind and one is ahead; offsets of different lengths or crossed positions compare by text.</summary>
    public override int CompareTo(Offset other)
    {
        if (other is not PartitionedOffset that)
            throw new InvalidOperationException($"a partitioned offset cannot be compared with {other.GetType().Name}");
        if (that.Positions.Count == Positions.Count)
        {
            var behind = Positions.Where((p, i) => p < that.Positions[i]).Any();
            var ahead = Positions.Where((p, i) => p > that.Positions[i]).Any();
            if (!(behind && ahead))
                return ahead ? 1 : behind ? -1 : 0;
        }
        return string.CompareOrdinal(ToString(), that.ToString());
    }

    public override bool Equals(object? obj) => obj is PartitionedOffset that && Positions.SequenceEqual(that.Positions);

    public override int GetHashCode() => Positions.Aggregate(17, (hash, p) => hash * 31 + p.GetHashCode());
}
