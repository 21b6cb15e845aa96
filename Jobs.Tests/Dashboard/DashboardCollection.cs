using Jobs.Tests.Infrastructure;
using Jobs.Tests.Integration;
using Xunit;

namespace Jobs.Tests.Dashboard;

/// <summary>The dashboard specs share one Chromium and one standalone node; specs that need their own nodes start them.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<BrowserFixture>, ICollectionFixture<StandaloneNodeFixture>
{
    public const string Name = "dashboard";
}
