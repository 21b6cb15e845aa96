using System.Text.Json;
using Jobs.Actors.Tasks;
using Xunit;

namespace Jobs.Tests.Tasks;

public sealed class ArgumentBindingSpec
{
    internal static class Signatures
    {
        [JobsTask("t.add")]
        public static int Add(int x, int y) => x + y;

        [JobsTask("t.defaults")]
        public static string Defaults(string name, int times = 2, string? suffix = null, int? limit = null) =>
            $"{name}:{times}:{suffix ?? "none"}:{limit?.ToString() ?? "none"}";

        [JobsTask("t.collections")]
        public static string Collections(int[] numbers, List<List<int>> nested, Dictionary<string, int> map, decimal money, long big, bool flag, double ratio) =>
            $"{numbers.Sum()}|{nested.Sum(n => n.Sum())}|{map["a"]}|{money}|{big}|{flag}|{ratio}";

        [JobsTask("t.snake")]
        public static int Snake(int maxValue) => maxValue;

        [JobsTask("t.injected")]
        public static string Injected(TaskContext context, int x, CancellationToken cancel) => $"{context.TaskId}:{x}:{cancel.CanBeCanceled}";

        [JobsTask("t.json")]
        public static string Json(JsonElement anything) => anything.GetRawText();
    }

    private static readonly TaskRegistry Registry = TaskRegistry.FromTypes([typeof(Signatures)]);

    private static TaskDefinition Task(string name) => Registry.TryGet(name, out var d) ? d : throw new KeyNotFoundException(name);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static async Task<string> Call(string name, string? args, string? kwargs = null)
    {
        var definition = Task(name);
        var bound = definition.Bind(args is null ? null : Json(args), kwargs is null ? null : Json(kwargs));
        using var cancellation = new CancellationTokenSource();
        var result = await definition.InvokeAsync(bound, TaskInvocationSpec.Context(name, cancellation.Token));
        return result.ValueKind == JsonValueKind.String ? result.GetString()! : result.GetRawText();
    }

    private static TaskArgumentException Rejected(string name, string? args, string? kwargs = null) =>
        Assert.Throws<TaskArgumentException>(() => Task(name).Bind(args is null ? null : Json(args), kwargs is null ? null : Json(kwargs)));

    [Fact]
    public async Task Positional_then_named_arguments_bind_like_a_python_call()
    {
        Assert.Equal("3", await Call("t.add", "[1, 2]"));
        Assert.Equal("3", await Call("t.add", "[1]", """{"y": 2}"""));
        Assert.Equal("3", await Call("t.add", null, """{"y": 2, "x": 1}"""));
    }

    [Fact]
    public async Task Defaults_and_nullable_parameters_are_honoured()
    {
        Assert.Equal("a:2:none:none", await Call("t.defaults", """["a"]"""));
        Assert.Equal("a:5:!:7", await Call("t.defaults", """["a", 5, "!", 7]"""));
        Assert.Equal("a:2:none:none", await Call("t.defaults", """["a"]""", """{"suffix": null, "limit": null}"""));
    }

    [Fact]
    public async Task Collections_records_and_numbers_bind_from_json()
    {
        Assert.Equal("6|10|1|2.5|9007199254740993|True|0.5",
            await Call("t.collections", """[[1, 2, 3], [[1, 2], [3, 4]], {"a": 1}, 2.5, 9007199254740993, true, 0.5]"""));
    }

    [Fact]
    public async Task Snake_case_keyword_names_find_camel_case_parameters()
    {
        Assert.Equal("9", await Call("t.snake", null, """{"max_value": 9}"""));
        Assert.Equal("9", await Call("t.snake", null, """{"MaxValue": 9}"""));
    }

    [Fact]
    public async Task Context_and_cancellation_token_are_injected_not_bound()
    {
        Assert.Equal("id-t.injected:4:True", await Call("t.injected", "[4]"));
        Assert.Equal(["x"], Task("t.injected").Parameters.Select(p => p.Name));
    }

    [Fact]
    public async Task A_json_element_parameter_takes_any_value()
    {
        Assert.Equal("""{"a":[1,null]}""", await Call("t.json", """[{"a":[1,null]}]"""));
    }

    [Fact]
    public void Too_many_positional_arguments_are_rejected()
    {
        Assert.Equal("t.add() takes 2 positional arguments but 3 were given", Rejected("t.add", "[1, 2, 3]").Message);
    }

    [Fact]
    public void A_missing_argument_is_rejected_by_name()
    {
        var error = Rejected("t.add", "[1]");
        Assert.Equal("y", error.ParameterName);
        Assert.Contains("missing required argument 'y'", error.Message);
    }

    [Fact]
    public void An_unknown_keyword_is_rejected()
    {
        var error = Rejected("t.add", "[1, 2]", """{"z": 3}""");
        Assert.Contains("unexpected keyword argument 'z'", error.Message);
    }

    [Fact]
    public void A_parameter_given_twice_is_rejected()
    {
        Assert.Contains("multiple values for argument 'x'", Rejected("t.add", "[1, 2]", """{"x": 3}""").Message);
    }

    [Fact]
    public void A_value_of_the_wrong_type_is_rejected_naming_parameter_and_type()
    {
        var error = Rejected("t.add", """[1, "a"]""");
        Assert.Equal("y", error.ParameterName);
        Assert.Equal("argument 'y' expects int, got string \"a\"", error.Message);
        Assert.Contains("expects int", Rejected("t.add", "[1, 2.5]").Message);
        Assert.Contains("expects int, got null", Rejected("t.add", "[1, null]").Message);
    }

    [Fact]
    public void Args_must_be_an_array_and_kwargs_an_object()
    {
        Assert.Contains("args must be a JSON array", Rejected("t.add", """{"x": 1}""").Message);
        Assert.Contains("kwargs must be a JSON object", Rejected("t.add", null, "[1]").Message);
    }
}
