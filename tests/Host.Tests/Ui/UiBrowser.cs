using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Broker.Host.Tests.Ui;

/// <summary>
/// Debian's <c>chromium-headless-shell</c> driven by Playwright (launched by <c>ExecutablePath</c>: Playwright's own browser
/// download is not used). Every page's requests are intercepted: one that is not for 127.0.0.1 is aborted and recorded
/// (<see cref="OutsideRequests"/>), and console errors (a CSP violation among them) are recorded too. Screenshots go to
/// <see cref="ScreenshotDirectory"/>. A missing browser fails the test with how to install it (never a skip).
/// </summary>
public sealed class UiBrowser : IAsyncDisposable
{
    public const string DefaultExecutable = "/usr/bin/chromium-headless-shell";

    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private UiBrowser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    /// <summary>Requests the pages tried to send anywhere but 127.0.0.1 (aborted).</summary>
    public ConcurrentQueue<string> OutsideRequests { get; } = new();

    /// <summary>Console errors and uncaught page errors.</summary>
    public ConcurrentQueue<string> PageErrors { get; } = new();

    /// <summary><c>BROKER_UI_SCREENSHOTS</c>, else <c>ui-screenshots/</c> in the test output (tests/Host.Tests/bin/Release/net10.0/ui-screenshots).</summary>
    public static string ScreenshotDirectory =>
        Environment.GetEnvironmentVariable("BROKER_UI_SCREENSHOTS") is { Length: > 0 } dir ? dir : Path.Combine(AppContext.BaseDirectory, "ui-screenshots");

    public static async Task<UiBrowser> LaunchAsync()
    {
        var path = Environment.GetEnvironmentVariable("BROKER_UI_BROWSER") is { Length: > 0 } given ? given : DefaultExecutable;
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"The admin UI browser tests need Chromium at {path}: run scripts/services.sh (it installs Debian's chromium-headless-shell) " +
                "or set BROKER_UI_BROWSER to a Chromium binary.");
        }

        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = path,
                Headless = true,
                Args = ["--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
                Timeout = 60_000,
            });
            return new UiBrowser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    public async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = height },
            ServiceWorkers = ServiceWorkerPolicy.Block,
            Locale = "en-US",
        });
        context.SetDefaultTimeout(20_000);
        await context.RouteAsync("**/*", async route =>
        {
            var url = route.Request.Url;
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme is "data" or "blob" || uri.Host == "127.0.0.1"))
            {
                await route.ContinueAsync();
                return;
            }

            OutsideRequests.Enqueue(url);
            await route.AbortAsync();
        });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            // an API answer of 4xx (signed out, a refused key) is the app's business; anything else (a CSP refusal) is a fault
            if (message.Type == "error" && !message.Text.StartsWith("Failed to load resource: the server responded with a status of 4", StringComparison.Ordinal))
            {
                PageErrors.Enqueue(message.Text);
            }
        };
        page.PageError += (_, error) => PageErrors.Enqueue(error);
        return page;
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        ArgumentNullException.ThrowIfNull(page);
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    public static async Task SignInAsync(IPage page, string baseUrl, string key)
    {
        ArgumentNullException.ThrowIfNull(page);
        await page.GotoAsync(baseUrl.TrimEnd('/') + "/ui/");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).WaitForAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
