using Microsoft.Playwright;
using Xunit;

namespace Jobs.Tests.Infrastructure;

/// <summary>
/// Debian's Chromium driven by Playwright, launched once for the dashboard specs with a fresh profile directory.
/// Playwright's own browsers are never downloaded: the executable is <c>/usr/bin/chromium</c> (or <c>JOBS_CHROMIUM</c>),
/// which test.sh installs with apt when it is missing.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private readonly string _profile = Path.Combine(Path.GetTempPath(), "jobs-chromium-" + Guid.NewGuid().ToString("N")[..12]);

    public IBrowserContext Context { get; private set; } = null!;

    public static string Executable => Environment.GetEnvironmentVariable("JOBS_CHROMIUM") ?? "/usr/bin/chromium";

    public async Task InitializeAsync()
    {
        if (!File.Exists(Executable))
            throw new InvalidOperationException($"Chromium is not installed at {Executable}: run ./test.sh, or apt-get install -y chromium");
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _playwright = await Playwright.CreateAsync();
        Context = await _playwright.Chromium.LaunchPersistentContextAsync(_profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = Executable,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"],
            ViewportSize = new ViewportSize { Width = 1360, Height = 860 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<IPage, System.Collections.Concurrent.ConcurrentQueue<string>> _errors = new();

    /// <summary>A new tab; waits on conditions give up after 30 s unless told otherwise; its uncaught script errors are kept.</summary>
    public async Task<IPage> NewPageAsync()
    {
        var page = await Context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        var errors = _errors.GetOrAdd(page, _ => new());
        page.PageError += (_, error) => errors.Enqueue(error);
        return page;
    }

    /// <summary>Uncaught exceptions thrown by the dashboard's scripts in this tab so far.</summary>
    public IReadOnlyList<string> ScriptErrors(IPage page) => _errors.TryGetValue(page, out var errors) ? errors.ToArray() : [];

    public async Task DisposeAsync()
    {
        if (Context is not null)
            await Context.CloseAsync();
        _playwright?.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The repository's root (where ActorJobs.sln is), for files the suite writes into it such as docs/dashboard.png.</summary>
public static class RepositoryRoot
{
    /// <summary>
    /// Where a screenshot goes: the repository's docs/ (the README's pictures) when JOBS_UPDATE_SCREENSHOTS=1, else the
    /// test output, so an ordinary run leaves the working tree as it was.
    /// </summary>
    public static string Screenshot(string name)
    {
        var dir = Environment.GetEnvironmentVariable("JOBS_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(Find(), "docs")
            : Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }

    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ActorJobs.sln")))
                return dir.FullName;
        }
        throw new DirectoryNotFoundException("ActorJobs.sln not found above " + AppContext.BaseDirectory);
    }
}
