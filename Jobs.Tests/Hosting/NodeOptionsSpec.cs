using Jobs.Actors.Hosting;
using Xunit;

namespace Jobs.Tests.Hosting;

public sealed class NodeOptionsSpec
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Fact]
    public void Options_render_as_hocon_in_front_of_the_defaults()
    {
        var config = NodeOptions.Parse(["--port", "4100", "--seeds", "akka.tcp://jobs@127.0.0.1:4053", "--seeds", "akka.tcp://jobs@127.0.0.1:4054",
            "--queues", "default,images", "--concurrency", "3", "--prefetch", "0", "--roles", "gpu"], NoEnvironment).ToConfig(["worker"], 0);
        var settings = JobsSettings.Create(config);
        Assert.Equal(4100, config.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(["akka.tcp://jobs@127.0.0.1:4053", "akka.tcp://jobs@127.0.0.1:4054"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(["worker", "gpu"], config.GetStringList("akka.cluster.roles"));
        Assert.Equal(["default", "images"], settings.Queues);
        Assert.Equal(3, settings.Concurrency);
        Assert.Equal(0, settings.Prefetch);
    }

    [Fact]
    public void Environment_variables_give_the_same_options_and_the_command_line_wins()
    {
        var environment = new Dictionary<string, string> { ["JOBS_SEEDS"] = "akka.tcp://jobs@127.0.0.1:4053", ["JOBS_CONCURRENCY"] = "5", ["JOBS_QUEUES"] = "a,b" };
        var options = NodeOptions.Parse(["--concurrency", "7"], name => environment.GetValueOrDefault(name));
        Assert.Equal(["akka.tcp://jobs@127.0.0.1:4053"], options.Seeds);
        Assert.Equal(7, options.Concurrency);
        Assert.Equal(["a", "b"], options.Queues);
    }

    [Fact]
    public void The_redis_journal_is_one_switch()
    {
        var config = NodeOptions.Parse(["--journal", "redis", "--redis", "10.0.0.5:6380,password=secret"], NoEnvironment).ToConfig(["worker"], 0);
        Assert.Equal("akka.persistence.journal.redis", config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal("10.0.0.5:6380,password=secret", config.GetString("akka.persistence.journal.redis.configuration-string"));
        Assert.Equal("akka.persistence.snapshot-store.redis", config.GetString("akka.persistence.snapshot-store.plugin"));
    }

    [Fact]
    public void The_command_host_binds_loopback_unless_cmd_host_or_the_environment_names_another_address()
    {
        Assert.Equal("127.0.0.1", JobsSettings.Create(NodeOptions.Parse([], NoEnvironment).ToConfig(["worker"], 0)).CommandHost);
        var config = NodeOptions.Parse(["--cmd-host", "0.0.0.0"], NoEnvironment).ToConfig(["worker"], 0);
        Assert.Equal("0.0.0.0", JobsSettings.Create(config).CommandHost);
        var fromEnvironment = NodeOptions.Parse([], name => name == "JOBS_CMD_HOST" ? "10.0.0.7" : null);
        Assert.Equal("10.0.0.7", fromEnvironment.CmdHost);
    }

    [Fact]
    public void Loglevel_takes_celerys_level_names_and_sets_akkas()
    {
        Assert.Equal("INFO", NodeOptions.Parse([], NoEnvironment).ToConfig(["worker"], 0).GetString("akka.loglevel"));
        Assert.Equal("WARNING", NodeOptions.Parse(["--loglevel", "warning"], NoEnvironment).ToConfig(["worker"], 0).GetString("akka.loglevel"));
        Assert.Equal("DEBUG", NodeOptions.Parse(["-l", "DEBUG"], NoEnvironment).ToConfig(["worker"], 0).GetString("akka.loglevel"));
        Assert.Equal("ERROR", NodeOptions.Parse(["--loglevel", "critical"], NoEnvironment).ToConfig(["worker"], 0).GetString("akka.loglevel"));
        Assert.Equal("WARNING", NodeOptions.Parse([], name => name == "JOBS_LOGLEVEL" ? "warn" : null).LogLevel);
        var refused = Assert.Throws<OptionException>(() => NodeOptions.Parse(["--loglevel", "loud"], NoEnvironment));
        Assert.Equal("--loglevel must be debug, info, warning, error, critical or fatal, not 'loud'", refused.Message);
    }

    [Fact]
    public void A_seed_given_no_seeds_forms_the_cluster_itself()
    {
        var config = NodeOptions.Parse(["--port", "4053"], NoEnvironment).ToConfig(["seed"], 4053, joinSelfWithoutSeeds: true);
        Assert.True(config.GetBoolean("jobs.cluster.join-self"));
        Assert.Empty(config.GetStringList("akka.cluster.seed-nodes"));
    }

    [Fact]
    public void A_seed_given_seeds_keeps_akkas_rule_and_does_not_join_itself()
    {
        // The first seed listed forms the cluster when no other seed answers; any other seed only joins.
        var config = NodeOptions.Parse(["--port", "4054", "--seeds", "akka.tcp://jobs@127.0.0.1:4053,akka.tcp://jobs@127.0.0.1:4054"], NoEnvironment)
            .ToConfig(["seed"], 4053, joinSelfWithoutSeeds: true);
        Assert.False(config.GetBoolean("jobs.cluster.join-self"));
        Assert.Equal(["akka.tcp://jobs@127.0.0.1:4053", "akka.tcp://jobs@127.0.0.1:4054"], config.GetStringList("akka.cluster.seed-nodes"));
    }

    [Fact]
    public void A_worker_given_no_seeds_waits_to_be_joined()
    {
        Assert.False(NodeOptions.Parse([], NoEnvironment).ToConfig(["worker"], 0).GetBoolean("jobs.cluster.join-self"));
    }

    [Theory]
    [InlineData(new[] { "--port", "x" }, "--port must be a whole number")]
    [InlineData(new[] { "--journal", "mongo" }, "--journal must be sqlite or redis")]
    [InlineData(new[] { "--journal", "redis" }, "--journal redis needs --redis")]
    [InlineData(new[] { "--frobnicate" }, "unknown option '--frobnicate'")]
    [InlineData(new[] { "--seeds" }, "--seeds needs a value")]
    public void A_command_line_that_cannot_be_used_says_why(string[] args, string expected)
    {
        var error = Assert.Throws<OptionException>(() => NodeOptions.Parse(args, NoEnvironment));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Insecure_is_off_unless_given_by_flag_or_environment_and_lists_what_it_would_leave_open()
    {
        Assert.False(NodeOptions.Parse([], NoEnvironment).Insecure);
        Assert.True(NodeOptions.Parse(["--insecure"], NoEnvironment).Insecure);
        Assert.True(NodeOptions.Parse([], name => name == "JOBS_INSECURE" ? "1" : null).Insecure);

        var options = NodeOptions.Parse(["--host", "192.0.2.10", "--http", "0.0.0.0:5555"], NoEnvironment);
        var open = Jobs.Api.NodeHost.Exposure(options, options.Http, System.Net.IPAddress.Loopback, options.ToConfig(["worker"], 0));
        Assert.Equal(2, open.Count);
        Assert.Contains("remoting on '192.0.2.10' without TLS", open[0]);
        Assert.Contains("HTTP on 0.0.0.0:5555 without --auth-token", open[1]);

        var local = NodeOptions.Parse(["--host", "localhost"], NoEnvironment);
        Assert.Empty(Jobs.Api.NodeHost.Exposure(local, "127.0.0.1:5555", System.Net.IPAddress.Loopback, local.ToConfig(["worker"], 0)));
        var tls = Akka.Configuration.ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = on")
            .WithFallback(options.ToConfig(["worker"], 0));
        Assert.DoesNotContain(Jobs.Api.NodeHost.Exposure(options, null, System.Net.IPAddress.Loopback, tls), o => o.Contains("remoting"));
    }
}
