using System.Net;
using Jobs.Actors.Hosting;

namespace Jobs.Api;

/// <summary>Builds the HTTP facade around a started <see cref="JobsNode"/>; every node kind serves it the same way.</summary>
public static class JobsWebApp
{
    public static WebApplication Build(JobsNode node, string? authToken = null, string[]? args = null)
    {
        var settings = JobsHttpSettings.From(node.Settings);
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
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = settings.MaxBodySize;
            kestrel.Listen(ParseEndpoint(settings.Endpoint));
        });
        builder.Services.AddSingleton(node);
        builder.Services.AddSingleton(node.Client);
        builder.Services.AddSingleton(node.Canvas);
        builder.Services.AddSingleton(node.Catalog);
        builder.Services.AddSingleton(node.Beat);
        builder.Services.AddSingleton(settings);
        // Every node that serves HTTP keeps its own monitor (task index, workers, live events).
        builder.Services.AddSingleton(Jobs.Actors.Monitoring.JobsMonitor.Start(node));
        builder.Services.AddExceptionHandler<ErrorResponses>();
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();

        var app = builder.Build();
        app.UseExceptionHandler();
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
