using Jobs.Tests.Infrastructure;
using Xunit;

namespace Jobs.Tests.Integration;

/// <summary>One standalone node process shared by the HTTP specs, started once per test run.</summary>
public sealed class StandaloneNodeFixture : IAsyncLifetime
{
    public StandaloneNode Node { get; } = new();

    public Task InitializeAsync() => Node.StartAsync();

    public Task DisposeAsync() => Node.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class StandaloneNodeCollection : ICollectionFixture<StandaloneNodeFixture>
{
    public const string Name = "standalone node";
}
