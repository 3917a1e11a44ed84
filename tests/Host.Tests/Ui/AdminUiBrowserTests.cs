using System.Globalization;
using Microsoft.Playwright;

namespace Broker.Host.Tests.Ui;

/// <summary>The admin UI in a real browser (Debian's chromium-headless-shell) against an in-process Broker.</summary>
[Trait("Category", "Integration")]
public sealed class AdminUiBrowserTests(AdminUiFixture fixture) : IClassFixture<AdminUiFixture>, IAsyncLifetime
{
    private IPage _page = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_page is not null)
        {
            await _page.Context.CloseAsync();
        }

        // every test: nothing left 127.0.0.1 and the page raised no error (a CSP refusal is a console error)
        Assert.Empty(fixture.Browser.OutsideRequests);
        Assert.Empty(fixture.Browser.PageErrors);
    }

    private string Url(string path) => fixture.Broker.BaseUrl.TrimEnd('/') + path;

    [Fact]
    public async Task SignIn_MasterKey_KeysViewWithHttpOnlyStrictSessionCookie()
    {
        _page = await fixture.Browser.NewPageAsync();

        await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, AdminUiFixture.MasterKey);

        await _page.GetByRole(AriaRole.Heading, new() { Name = "Keys", Exact = true }).WaitForAsync();
        Assert.EndsWith("/ui/keys", _page.Url, StringComparison.Ordinal);
        var cookie = Assert.Single(await _page.Context.CookiesAsync(), c => c.Name == "broker_ui_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        // the page's own script cannot read the session (HttpOnly), nor does it keep the key anywhere
        Assert.DoesNotContain("broker_ui_session", await _page.EvaluateAsync<string>("document.cookie"), StringComparison.Ordinal);
        Assert.DoesNotContain(AdminUiFixture.MasterKey, await _page.ContentAsync(), StringComparison.Ordinal);
        await UiBrowser.ScreenshotAsync(_page, "keys-1280");
    }

    [Fact]
    public async Task SignIn_WrongKey_ErrorShownAndStillSignedOut()
    {
        _page = await fixture.Browser.NewPageAsync();
        await _page.GotoAsync(Url("/ui/"));

        await _page.GetByLabel("API key").FillAsync("sk-not-a-key");
        await _page.GetByLabel("API key").PressAsync("Enter");

        await _page.GetByRole(AriaRole.Alert).WaitForAsync();
        Assert.Contains("Authentication Error", await _page.GetByRole(AriaRole.Alert).InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await _page.Context.CookiesAsync(), c => c.Name == "broker_ui_session");
        await UiBrowser.ScreenshotAsync(_page, "sign-in-1280");
    }

    [Fact]
    public async Task CreateKey_FromKeysView_SecretShownOnceListedAndBlockable()
    {
        _page = await fixture.Browser.NewPageAsync();
        await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, AdminUiFixture.MasterKey);
        var alias = "ui-key-" + Guid.NewGuid().ToString("N")[..8];

        await _page.GetByLabel("Alias").FillAsync(alias);
        await _page.GetByLabel("Models").FillAsync("chat");
        await _page.GetByLabel("Max budget (USD)").FillAsync("2.5");
        await _page.GetByLabel("Requests per minute").FillAsync("7");
        await _page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();

        var secret = await _page.GetByTestId("new-key-secret").InnerTextAsync();
        Assert.StartsWith("sk-", secret, StringComparison.Ordinal);
        var row = _page.Locator($"tr[data-alias='{alias}']");
        await row.WaitForAsync();
        var rowText = await row.InnerTextAsync();
        Assert.Contains("chat", rowText, StringComparison.Ordinal);
        Assert.Contains("$2.5", rowText, StringComparison.Ordinal);
        Assert.Contains("7 rpm", rowText, StringComparison.Ordinal);
        Assert.Contains("active", rowText, StringComparison.Ordinal);
        // the key the page showed is the key the API made
        var info = await fixture.AdminGetAsync($"key/info?key={secret}");
        Assert.Equal(alias, info["info"]!["key_alias"]!.GetValue<string>());
        Assert.Equal(2.5m, info["info"]!["max_budget"]!.GetValue<decimal>());
        await UiBrowser.ScreenshotAsync(_page, "keys-created-1280");

        // the secret is shown once: a reload lists the key without it
        await _page.ReloadAsync();
        await _page.Locator($"tr[data-alias='{alias}']").WaitForAsync();
        Assert.DoesNotContain(secret, await _page.ContentAsync(), StringComparison.Ordinal);

        await _page.GetByRole(AriaRole.Button, new() { Name = $"Block key {alias}" }).ClickAsync();
        await _page.Locator($"tr[data-alias='{alias}'] .badge.bad").WaitForAsync();
        Assert.True((await fixture.AdminGetAsync($"key/info?key={secret}"))["info"]!["blocked"]!.GetValue<bool>());

        _page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await _page.GetByRole(AriaRole.Button, new() { Name = $"Delete key {alias}" }).ClickAsync();
        await _page.Locator($"tr[data-alias='{alias}']").WaitForAsync(new() { State = WaitForSelectorState.Detached });
        var list = await fixture.AdminGetAsync($"key/list?key_alias={alias}");
        Assert.Empty(list["keys"]!.AsArray());
    }

    [Fact]
    public async Task Spend_AfterTraffic_ChartsDrawnWithTheReportsNumbers()
    {
        var report = (await fixture.AdminGetAsync("global/spend/report?group_by=model")).AsArray();
        var chatTotal = report.SelectMany(d => d!["models"]!.AsArray()).Where(m => m!["model"]!.GetValue<string>() == "chat")
            .Sum(m => m!["total_spend"]!.GetValue<decimal>());
        Assert.True(chatTotal > 0);
        _page = await fixture.Browser.NewPageAsync();
        await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, AdminUiFixture.MasterKey);

        await _page.GetByRole(AriaRole.Link, new() { Name = "Spend" }).ClickAsync();

        foreach (var chart in new[] { "chart-spend-day", "chart-spend-model", "chart-spend-key" })
        {
            await _page.Locator($"canvas#{chart}[data-rendered='true']").WaitForAsync();
        }

        // the chart was drawn (pixels on the canvas), and its numbers are the report's
        Assert.True(await _page.EvaluateAsync<bool>("""
            () => { const c = document.getElementById('chart-spend-day'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; } return false; }
            """));
        var modelCell = _page.GetByTestId("spend-by-model").Locator("tbody tr", new() { HasText = "chat" }).Locator("td").Nth(1);
        Assert.Equal(chatTotal, ParseDollars(await modelCell.InnerTextAsync()));
        var dayLabel = await _page.Locator("canvas#chart-spend-day").GetAttributeAsync("aria-label");
        Assert.Contains(((double)chatTotal).ToString(CultureInfo.InvariantCulture), dayLabel, StringComparison.Ordinal);
        // the recent rows are the spend log's
        await _page.GetByTestId("spend-logs").Locator("tbody tr", new() { HasText = "chat" }).First.WaitForAsync();
        Assert.Equal(fixture.CallIds.Count, await _page.GetByTestId("spend-logs").Locator("tbody tr", new() { HasText = "chat" }).CountAsync());
        await UiBrowser.ScreenshotAsync(_page, "spend-1280");
    }

    [Fact]
    public async Task Views_ModelsBatchesRequestLookup_RenderAtDesktopAndPhoneWidth()
    {
        foreach (var (width, height) in new[] { (1280, 900), (390, 844) })
        {
            _page = await fixture.Browser.NewPageAsync(width, height);
            await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, AdminUiFixture.MasterKey);
            await UiBrowser.ScreenshotAsync(_page, $"keys-{width}");

            await _page.GotoAsync(Url("/ui/models"));
            var models = _page.GetByTestId("models-table");
            await models.Locator("tbody tr", new() { HasText = "openai/private-chat" }).WaitForAsync();
            await UiBrowser.ScreenshotAsync(_page, $"models-{width}");

            await _page.GotoAsync(Url("/ui/batches"));
            await _page.GetByTestId("batches-table").WaitForAsync();
            await UiBrowser.ScreenshotAsync(_page, $"batches-{width}");

            await _page.GotoAsync(Url("/ui/requests"));
            await _page.GetByLabel("Call id (x-litellm-call-id)").FillAsync(fixture.CallIds[0]);
            await _page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
            // the request's attempts, from the request history Billing keeps
            Assert.Contains("success", await _page.GetByTestId("request-status").InnerTextAsync(), StringComparison.Ordinal);
            await _page.GetByTestId("attempts-table").Locator("tbody tr", new() { HasText = "success (200)" }).WaitForAsync();
            await UiBrowser.ScreenshotAsync(_page, $"requests-{width}");

            await _page.GotoAsync(Url("/ui/spend"));
            await _page.Locator("canvas#chart-spend-day[data-rendered='true']").WaitForAsync();
            await UiBrowser.ScreenshotAsync(_page, $"spend-{width}");

            // nothing is wider than the viewport at phone width (tables turn into labelled rows)
            var overflow = await _page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 1, $"page is {overflow}px wider than the {width}px viewport");
            await _page.Context.CloseAsync();
        }

        _page = null!;
    }

    [Fact]
    public async Task Keyboard_SignInAndNavigate_WithoutMouse()
    {
        _page = await fixture.Browser.NewPageAsync();
        await _page.GotoAsync(Url("/ui/"));

        // the key field has focus once the sign-in form is up; Enter submits
        await _page.GetByLabel("API key").WaitForAsync();
        Assert.Equal("key", await _page.EvaluateAsync<string>("document.activeElement.name"));
        await _page.Keyboard.TypeAsync(AdminUiFixture.MasterKey);
        await _page.Keyboard.PressAsync("Enter");
        await _page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).WaitForAsync();
        await _page.GetByRole(AriaRole.Link, new() { Name = "Models" }).FocusAsync();
        await _page.Keyboard.PressAsync("Enter");

        await _page.GetByRole(AriaRole.Heading, new() { Name = "Models" }).WaitForAsync();
        Assert.Equal("Models", await _page.EvaluateAsync<string>("document.activeElement.textContent"));
        Assert.Equal("page", await _page.GetByRole(AriaRole.Link, new() { Name = "Models" }).GetAttributeAsync("aria-current"));
    }

    private static decimal ParseDollars(string text) =>
        decimal.Parse(text.Trim().TrimStart('$'), NumberStyles.Float, CultureInfo.InvariantCulture);
}
