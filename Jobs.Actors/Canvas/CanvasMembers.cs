using System.Runtime.InteropServices;
using System.Text.Json;
using Jobs.Actors.Tasks;

namespace Jobs.Actors.Canvas;

/// <summary>
/// A canvas's member tasks (the leaves whose outcomes make up its result, links left out) in tree order, each once
/// by id; a member's index here is how snapshots name it.
/// </summary>
internal sealed class MemberTable
{
    public static readonly MemberTable Empty = new(null);

    private readonly Signature[] _members;
    private readonly Dictionary<string, int> _indexes;

    public MemberTable(Signature? root)
    {
        var members = new List<Signature>();
        _indexes = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root is not null)
        {
            foreach (var member in MembersOf(root))
            {
                if (_indexes.TryAdd(member.Id!, members.Count))
                    members.Add(member);
            }
        }
        _members = members.ToArray();
    }

    public int Count => _members.Length;

    public Signature this[int index] => _members[index];

    /// <summary>The member's index, or -1 if no member has this id.</summary>
    public int IndexOf(string taskId) => _indexes.TryGetValue(taskId, out var index) ? index : -1;

    private static IEnumerable<Signature> MembersOf(Signature node) => node.Kind switch
    {
        SignatureKind.Task => [node],
        SignatureKind.Chord => node.Members.SelectMany(MembersOf).Concat(MembersOf(node.Body!)),
        _ => node.Members.SelectMany(MembersOf),
    };
}

/// <summary>
/// What each member ended with, by index: a byte of state per member and the results as raw JSON in one growing
/// buffer, instead of an object, a parsed document and a dictionary entry per member. A member is recorded once.
/// </summary>
internal sealed class MemberOutcomes(int members)
{
    private readonly byte[] _states = new byte[members];
    private readonly int[] _resultStarts = new int[members];
    private readonly int[] _resultLengths = new int[members];
    private readonly Dictionary<int, TaskError> _errors = new();
    private byte[] _results = new byte[Math.Min(1024, Math.Max(16, members * 8))];
    private int _used;

    public int Count { get; private set; }

    public bool IsFinished(int index) => index >= 0 && _states[index] != 0;

    public TaskState State(int index) => (TaskState)(_states[index] - 1);

    public TaskError? Error(int index) => _errors.GetValueOrDefault(index);

    public void Record(int index, TaskState state, JsonElement? result, TaskError? error)
    {
        if (_states[index] != 0)
            return;
        _states[index] = (byte)(state + 1);
        if (result is { ValueKind: not JsonValueKind.Undefined } value)
            Append(index, JsonMarshal.GetRawUtf8Value(value));
        if (error is not null)
            _errors[index] = error;
        Count++;
    }

    /// <summary>The member's result (JSON null if it had none), parsed on demand.</summary>
    public JsonElement Result(int index)
    {
        var reader = new Utf8JsonReader(_resultLengths[index] == 0 ? "null"u8 : _results.AsSpan(_resultStarts[index], _resultLengths[index]));
        return JsonElement.ParseValue(ref reader);
    }

    public void WriteResult(int index, Utf8JsonWriter writer)
    {
        if (_resultLengths[index] == 0)
            writer.WriteNullValue();
        else
            writer.WriteRawValue(_results.AsSpan(_resultStarts[index], _resultLengths[index]), skipInputValidation: true);
    }

    public CanvasSnapshot ToSnapshot(string canvasId, long treeSequenceNr, CanvasFinished? outcome)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(_used + 2 * Count + 16);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < _states.Length; i++)
            {
                if (_states[i] != 0)
                    WriteResult(i, writer);
            }
            writer.WriteEndArray();
        }
        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return new CanvasSnapshot(canvasId, treeSequenceNr, (byte[])_states.Clone(), JsonElement.ParseValue(ref reader),
            _errors.OrderBy(e => e.Key).Select(e => new CanvasMemberError(e.Key, e.Value)).ToArray(), outcome);
    }

    public void Restore(CanvasSnapshot snapshot)
    {
        var errors = snapshot.Errors.ToDictionary(e => e.Index, e => e.Error);
        using var results = snapshot.Results.EnumerateArray();
        for (var i = 0; i < snapshot.States.Length; i++)
        {
            if (snapshot.States[i] == 0)
                continue;
            if (!results.MoveNext())
                throw new InvalidOperationException($"canvas {snapshot.CanvasId}: its snapshot has fewer results than finished members");
            Record(i, (TaskState)(snapshot.States[i] - 1), results.Current.ValueKind == JsonValueKind.Null ? null : results.Current,
                errors.GetValueOrDefault(i));
        }
    }

    private void Append(int index, ReadOnlySpan<byte> raw)
    {
        if (_used + raw.Length > _results.Length)
            Array.Resize(ref _results, Math.Max(_results.Length * 2, _used + raw.Length));
        raw.CopyTo(_results.AsSpan(_used));
        _resultStarts[index] = _used;
        _resultLengths[index] = raw.Length;
        _used += raw.Length;
    }
}
