using System.Text.Json.Serialization;

namespace Jobs.Actors.Tasks;

/// <summary>
/// Celery's task states (<c>celery.states</c>), written upper case on the wire as Celery does. The numbers are stored
/// too (a canvas's progress snapshot keeps a byte per member, <see cref="Canvas.CanvasSnapshot.States"/>): never
/// renumber them; a new state takes a new number.
/// </summary>
[JsonConverter(typeof(TaskStateConverter))]
public enum TaskState
{
    /// <summary>Unknown id: never submitted, or its result expired.</summary>
    Pending = 0,
    /// <summary>Accepted and journaled; waiting in its queue or for its countdown.</summary>
    Received = 1,
    Started = 2,
    /// <summary>An attempt failed and the next one is scheduled.</summary>
    Retry = 3,
    Success = 4,
    Failure = 5,
    Revoked = 6,
}

public static class TaskStates
{
    public static bool IsReady(this TaskState state) => state is TaskState.Success or TaskState.Failure or TaskState.Revoked;

    public static string ToCelery(this TaskState state) => state switch
    {
        TaskState.Pending => "PENDING",
        TaskState.Received => "RECEIVED",
        TaskState.Started => "STARTED",
        TaskState.Retry => "RETRY",
        TaskState.Success => "SUCCESS",
        TaskState.Failure => "FAILURE",
        TaskState.Revoked => "REVOKED",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static bool TryParse(string? text, out TaskState state)
    {
        foreach (var candidate in Enum.GetValues<TaskState>())
        {
            if (string.Equals(candidate.ToCelery(), text, StringComparison.OrdinalIgnoreCase))
            {
                state = candidate;
                return true;
            }
        }
        state = TaskState.Pending;
        return false;
    }
}

internal sealed class TaskStateConverter : JsonConverter<TaskState>
{
    public override TaskState Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
        => TaskStates.TryParse(reader.GetString(), out var state)
            ? state
            : throw new System.Text.Json.JsonException($"'{reader.GetString()}' is not a task state");

    public override void Write(System.Text.Json.Utf8JsonWriter writer, TaskState value, System.Text.Json.JsonSerializerOptions options)
        => writer.WriteStringValue(value.ToCelery());
}
