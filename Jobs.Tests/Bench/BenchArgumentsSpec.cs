using Jobs.Bench;
using Xunit;

namespace Jobs.Tests.Bench;

/// <summary>Jobs.Bench refuses a command line it would misread, naming the option, before it starts any process.</summary>
public sealed class BenchArgumentsSpec
{
    [Theory]
    [InlineData("--peer celery,bullmq")]
    [InlineData("--workload W1:60000 --target redis --via http --warm-up 10")]
    [InlineData("--quick")]
    [InlineData("--soak 10m --target redis,sqlite --rate 500 --result-expires 30s --soak-interval 30s")]
    [InlineData("journal --quick --actors 1,10,100 --events 50000 --no-floor")]
    [InlineData("beat --entries 10000 --schedule daily --target redis")]
    [InlineData("index --tasks 50000 --actors --dispatcher pinned")]
    [InlineData("")]
    public void Every_command_line_readme_and_ci_give_is_taken(string line) =>
        Assert.Null(BenchArguments.Problem(Split(line)));

    [Theory]
    [InlineData("--workloads W1", "unknown option --workloads for the workloads; known: ")]
    [InlineData("--target redis --via", "--via needs a value")]
    [InlineData("--warm-up --quick", "--warm-up needs a value")]
    [InlineData("--target redis --target cluster", "--target is given twice")]
    [InlineData("journal --tasks 10", "unknown option --tasks for 'journal'")]
    [InlineData("index --entries 5", "unknown option --entries for 'index'")]
    [InlineData("--quick jornal", "unexpected argument 'jornal' for the workloads (modes: journal, beat, index;")]
    public void A_misspelt_misplaced_or_valueless_option_is_refused_by_name(string line, string expected)
    {
        var problem = BenchArguments.Problem(Split(line));
        Assert.NotNull(problem);
        Assert.StartsWith(expected, problem);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("journal --help")]
    public void Help_is_asked_for_anywhere_on_the_line(string line) =>
        Assert.True(BenchArguments.WantsHelp(Split(line)));

    [Fact]
    public void The_usage_names_every_mode_and_option_the_checker_takes()
    {
        foreach (var name in new[] { "journal", "beat", "index", "--workload", "--target", "--via", "--peer", "--quick", "--node-config", "--warm-up",
                     "--appendfsync", "--trace-tail", "--loglevel", "--soak", "--rate", "--result-expires", "--soak-interval", "--actors",
                     "--events", "--journal-config", "--no-floor", "--entries", "--schedule", "--tasks", "--dispatcher", "--help" })
            Assert.Contains(name, BenchArguments.Usage);
    }

    private static string[] Split(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
