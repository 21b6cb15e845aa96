using System.Net;
using Jobs.Actors.Hosting;

namespace Jobs.Api;

/// <summary>Builds the HTTP facade around a started <see cref="JobsNode"/>; every node kind serves it the same way.</summary>
public static class JobsWebApp
{
    public static WebApplication Build(JobsNode node, string? authToken = null, string[]? args = null)
    {
        var settings = JobsHttpSettings.From(node);
        var endpoint = ParseEndpoint(settings.Endpoint);
        // Configuration comes from HOCON and the command line; no appsettings file is read, so none is watched. (With
        // the default reload-on-change, a watcher on the working directory woke for every write to ./data: ~8% of a
        // busy node's CPU.)
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [.. args ?? [], "--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Hosting's per-request diagnostics log only request starts and ends (Information, below the level above), yet
        // while their logger is enabled at all (Critical is) every request gets an Activity and a log scope: an
        // allocation-heavy span and two async-local changes per request that nothing reads.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Every endpoint has the same body limit, and slow or oversized requests are cut off before they hold a
            // connection for long (hocon/jobs.conf, jobs.http).
            kestrel.Limits.MaxRequestBodySize = settings.MaxBodySize;
            kestrel.Limits.MaxConcurrentConnections = settings.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = settings.MaxConnections;
            kestrel.Limits.MaxRequestHeadersTotalSize = settings.MaxRequestHeadersSize;
            kestrel.Limits.MaxRequestLineSize = settings.MaxRequestLineSize;
            kestrel.Limits.RequestHeadersTimeout = settings.HeadersTimeout;
            kestrel.Limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(settings.MinRequestBodyRate, TimeSpan.FromSeconds(5));
            kestrel.Listen(endpoint);
        });
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(node.Client);
        builder.Services.AddSingleton(node.Canvas);
        builder.Services.AddSingleton(node.Catalog);
        builder.Services.AddSingleton(node.Beat);
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(new RequestLimits(settings));
        // Every node that serves HTTP keeps its own monitor (task index, workers, live events).
        builder.Services.AddSingleton(Jobs.Actors.Monitoring.JobsMonitor.Start(node));
        builder.Services.AddSingleton(Jobs.Actors.Monitoring.DeadLetterCounts.Start(node.System));
        builder.Services.AddExceptionHandler<ErrorResponses>();
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.Use(new AccessPolicy(endpoint, settings).Middleware());
        if (authToken is not null)
            app.Use(TokenCheck.Require(authToken));
        app.MapOpenApi();
        app.MapTaskEndpoints();
        app.MapClusterEndpoints();
        app.MapCanvasEndpoints();
        app.MapWorkerEndpoints();
        app.MapMonitoringEndpoints();
        app.MapScheduleEndpoints();
        app.MapDashboard();
        return app;
    }

    public static IPEndPoint ParseEndpoint(string endpoint)
    {
        if (IPEndPoint.TryParse(endpoint, out var parsed))
            return parsed;
        var colon = endpoint.LastIndexOf(':');
        if (colon > 0 && int.TryParse(endpoint[(colon + 1)..], out var port) && endpoint[..colon] == "localhost")
            return new IPEndPoint(IPAddress.Loopback, port);
        throw new ArgumentException($"'{endpoint}' is not an HTTP endpoint; expected HOST:PORT, e.g. 127.0.0.1:5555");
    }
}
