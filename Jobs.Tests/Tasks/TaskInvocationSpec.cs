using System.Text.Json;
using Akka.Event;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class TaskInvocationSpec
{
    internal static class Bodies
    {
        [JobsTask("i.sync")]
        public static int Sync() => 1;

        [JobsTask("i.async")]
        public static async Task<string> Async()
        {
            await Task.Yield();
            return "async";
        }

        [JobsTask("i.valuetask")]
        public static ValueTask<int> Value() => ValueTask.FromResult(7);

        [JobsTask("i.void")]
        public static void Nothing() { }

        [JobsTask("i.task")]
        public static Task Plain() => Task.CompletedTask;

        [JobsTask("i.throws")]
        public static int Throws() => Thrower();

        [JobsTask("i.throws_async")]
        public static async Task<int> ThrowsAsync()
        {
            await Task.Yield();
            throw new FormatException("late");
        }

        [JobsTask("i.cycle")]
        public static object Cycle()
        {
            var list = new List<object>();
            list.Add(list);
            return list;
        }

        private static int Thrower() => throw new ArgumentOutOfRangeException("x", "deep");
    }

    private static readonly TaskRegistry Registry = TaskRegistry.FromTypes([typeof(Bodies)]);

    public static TaskContext Context(string name, CancellationToken cancellation = default) => new("id-" + name, name, 0, 3,
        default, default, "default", "worker@test", new TaskLogger(NoLogger.Instance, name, "id-" + name), cancellation);

    private static Task<JsonElement> Invoke(string name)
    {
        Assert.True(Registry.TryGet(name, out var definition));
        return definition.InvokeAsync(definition.Bind(null, null), Context(name));
    }

    [Fact]
    public async Task Sync_async_and_value_task_bodies_return_their_value_as_json()
    {
        Assert.Equal(1, (await Invoke("i.sync")).GetInt32());
        Assert.Equal("async", (await Invoke("i.async")).GetString());
        Assert.Equal(7, (await Invoke("i.valuetask")).GetInt32());
    }

    [Fact]
    public async Task Bodies_without_a_value_return_json_null()
    {
        Assert.Equal(JsonValueKind.Null, (await Invoke("i.void")).ValueKind);
        Assert.Equal(JsonValueKind.Null, (await Invoke("i.task")).ValueKind);
    }

    [Fact]
    public async Task A_body_exception_propagates_unchanged_with_its_stack()
    {
        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Invoke("i.throws"));
        Assert.Contains("Thrower", error.StackTrace);
        await Assert.ThrowsAsync<FormatException>(() => Invoke("i.throws_async"));
    }

    [Fact]
    public async Task A_result_that_cannot_be_json_is_a_result_serialization_error()
    {
        var error = await Assert.ThrowsAsync<ResultSerializationException>(() => Invoke("i.cycle"));
        Assert.Contains("i.cycle", error.Message);
    }
}
