using System.Text.Json;
using Xunit;

namespace Jobs.Tests.Hosting;

/// <summary>
/// The runtime settings each program is built with (its <c>*.runtimeconfig.json</c>, copied beside the tests): a
/// node's processes tier up without the runtime's startup delay, short-lived programs keep the default.
/// </summary>
public sealed class RuntimeConfigSpec
{
    private const string CallCountingDelay = "System.Runtime.TieredCompilation.CallCountingDelayMs";

    [Theory]
    [InlineData("Jobs.Node")]
    [InlineData("Jobs.Seed")]
    [InlineData("Jobs.Api")]
    public void A_node_process_promotes_hot_methods_without_waiting_for_startup_to_end(string program)
    {
        var properties = ConfigProperties(program);

        Assert.True(properties.TryGetProperty(CallCountingDelay, out var delay), $"{program} does not set {CallCountingDelay}");
        Assert.Equal(0, delay.GetInt32());
        Assert.Equal(5, properties.GetProperty("System.GC.ConserveMemory").GetInt32());
    }

    [Theory]
    [InlineData("jobs")]
    [InlineData("Jobs.Bench")]
    [InlineData("Jobs.Tests")]
    public void A_short_lived_program_keeps_the_runtime_default(string program) =>
        Assert.False(ConfigProperties(program).TryGetProperty(CallCountingDelay, out _));

    private static JsonElement ConfigProperties(string program)
    {
        var path = Path.Combine(AppContext.BaseDirectory, program + ".runtimeconfig.json");
        Assert.True(File.Exists(path), $"{path} is missing");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }
}
