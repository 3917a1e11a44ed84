using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;

namespace Broker.Host.Tests.Ui;

/// <summary>The admin UI in a real browser (Debian's chromium-headless-shell) against an in-process Broker.</summary>
[Collection(AdminUiCollection.Name)]
[Trait("Category", "Integration")]
public sealed class AdminUiBrowserTests(AdminUiFixture fixture) : IAsyncLifetime
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
    public async Task Spend_AfterTraffic_ChartsAndTotalsPerModelKeyAndTeamAreTheReports()
    {
        var chatTotal = ReportTotal(await fixture.AdminGetAsync("global/spend/report?group_by=model"), "models", "model", "chat");
        var teamTotal = ReportTotal(await fixture.AdminGetAsync("global/spend/report?group_by=team"), "teams", "team_name", AdminUiFixture.TeamId);
        var teamKeyHash = (await fixture.AdminGetAsync("key/list?key_alias=fixture-team-key"))["keys"]![0]!.GetValue<string>();
        var keyTotal = ReportTotal(await fixture.AdminGetAsync("global/spend/report?group_by=api_key"), "api_keys", "api_key", teamKeyHash);
        Assert.True(chatTotal > 0 && teamTotal > 0 && keyTotal > 0);
        var logs = (await fixture.AdminGetAsync("spend/logs?summarize=false")).AsArray();
        _page = await fixture.Browser.NewPageAsync();
        await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, AdminUiFixture.MasterKey);

        await _page.GetByRole(AriaRole.Link, new() { Name = "Spend" }).ClickAsync();

        foreach (var chart in new[] { "chart-spend-day", "chart-spend-model", "chart-spend-key", "chart-spend-team" })
        {
            await _page.Locator($"canvas#{chart}[data-rendered='true']").WaitForAsync();
        }

        // the chart was drawn (pixels on the canvas), and its numbers are the report's
        Assert.True(await _page.EvaluateAsync<bool>("""
            () => { const c = document.getElementById('chart-spend-team'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; } return false; }
            """));
        Assert.Equal(chatTotal, await TotalCellAsync("spend-by-model", "chat"));
        Assert.Equal(teamTotal, await TotalCellAsync("spend-by-team", AdminUiFixture.TeamAlias));
        Assert.Equal(keyTotal, await TotalCellAsync("spend-by-key", "fixture-team-key"));
        var dayLabel = await _page.Locator("canvas#chart-spend-day").GetAttributeAsync("aria-label");
        var dayTotal = ReportTotal(await fixture.AdminGetAsync("global/spend/report?group_by=day"), null, null, null);
        Assert.Contains(((double)dayTotal).ToString(CultureInfo.InvariantCulture), dayLabel, StringComparison.Ordinal);
        var teamLabel = await _page.Locator("canvas#chart-spend-team").GetAttributeAsync("aria-label");
        // the chart names the team (its alias, not its id); its figure is the table's (JavaScript writes the number)
        var teamFigure = await _page.EvaluateAsync<string>($"String({((double)teamTotal).ToString("R", CultureInfo.InvariantCulture)})");
        Assert.Contains($"{AdminUiFixture.TeamAlias} {teamFigure}", teamLabel, StringComparison.Ordinal);

        // the recent rows are the spend log's, and the filters narrow them
        var rows = _page.GetByTestId("spend-logs").Locator("tbody tr");
        await rows.First.WaitForAsync();
        Assert.Equal(logs.Count, await rows.CountAsync());
        await _page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("chat");
        await WaitForCountAsync(rows, logs.Count(r => r!["model_group"]!.GetValue<string>() == "chat"));
        await _page.GetByLabel("Key", new() { Exact = true }).SelectOptionAsync("fixture-team-key");
        await WaitForCountAsync(rows, 2);
        Assert.Equal(2, await rows.Filter(new() { HasText = AdminUiFixture.TeamAlias }).CountAsync());
        await _page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("flaky");
        await rows.Filter(new() { HasText = "No spend log rows match." }).WaitForAsync();
        await _page.GetByLabel("Model", new() { Exact = true }).SelectOptionAsync("");
        await _page.GetByLabel("Key", new() { Exact = true }).SelectOptionAsync("");
        await _page.GetByLabel("Search").FillAsync(fixture.CallIds[2]);
        await WaitForCountAsync(rows, 1);
        await _page.GetByLabel("Search").FillAsync("");
        await UiBrowser.ScreenshotAsync(_page, "spend-1280");
    }

    private async Task<decimal> TotalCellAsync(string testId, string name) =>
        ParseDollars(await _page.GetByTestId(testId).Locator("tbody tr", new() { Has = _page.Locator("td", new() { HasTextString = name }) })
            .First.Locator("td").Nth(1).InnerTextAsync());

    /// <summary>The report's spend summed over days for one entry of a group list (or the days' totals when <paramref name="list"/> is null).</summary>
    private static decimal ReportTotal(JsonNode report, string? list, string? nameField, string? name) =>
        list is null
            ? report.AsArray().Sum(d => d!["total_spend"]!.GetValue<decimal>())
            : report.AsArray().SelectMany(d => d![list]!.AsArray()).Where(m => m![nameField!]!.GetValue<string>() == name)
                .Sum(m => m!["total_spend"]!.GetValue<decimal>());

    private static async Task WaitForCountAsync(ILocator rows, int count)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
        while (await rows.CountAsync() != count && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(count, await rows.CountAsync());
    }

    [Fact]
    public async Task Views_EveryView_RendersAtDesktopAndPhoneWidthWithoutOverflow()
    {
        foreach (var (width, height) in new[] { (1280, 900), (390, 844) })
        {
            _page = await fixture.Browser.NewPageAsync(width, height);
            await UiBrowser.SignInAsync(_page, fixture.Broker.BaseUrl, AdminUiFixture.MasterKey);
            await _page.GetByTestId("keys-table").Locator("tbody tr", new() { HasText = "fixture-team-key" }).WaitForAsync();
            await ShotAsync($"keys-{width}", width);

            await _page.GotoAsync(Url("/ui/users"));
            await _page.GetByTestId("users-table").Locator("tbody tr", new() { HasText = AdminUiFixture.UserId }).WaitForAsync();
            await ShotAsync($"users-{width}", width);

            await _page.GotoAsync(Url("/ui/teams"));
            await _page.GetByTestId("teams-table").Locator("tbody tr", new() { HasText = AdminUiFixture.TeamAlias }).WaitForAsync();
            await ShotAsync($"teams-{width}", width);

            await _page.GotoAsync(Url("/ui/models"));
            await _page.GetByTestId("models-table").Locator("tbody tr", new() { HasText = "openai/private-chat" }).WaitForAsync();
            await ShotAsync($"models-{width}", width);

            await _page.GotoAsync(Url("/ui/queues"));
            await _page.GetByTestId("queues-table").WaitForAsync();
            await ShotAsync($"queues-in-memory-{width}", width);

            await _page.GotoAsync(Url("/ui/batches"));
            var batchRow = _page.GetByTestId("batches-table").Locator("tbody tr", new() { HasText = fixture.BatchId });
            await batchRow.WaitForAsync();
            var batchText = await batchRow.InnerTextAsync();
            Assert.Contains("completed", batchText, StringComparison.Ordinal);
            Assert.Contains("2/2 (0 failed)", batchText, StringComparison.Ordinal);
            Assert.Equal(2, await batchRow.Locator("progress").EvaluateAsync<int>("p => p.value"));
            await ShotAsync($"batches-{width}", width);
            if (width == 1280)
            {
                // the output link downloads the batch's results with the session cookie (no key in the page)
                var download = await _page.RunAndWaitForDownloadAsync(() => batchRow.GetByRole(AriaRole.Link, new() { Name = fixture.BatchOutputFileId }).ClickAsync());
                var saved = await download.PathAsync();
                var lines = (await File.ReadAllLinesAsync(saved)).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!).ToList();
                Assert.Equal(["ui-line-1", "ui-line-2"], lines.Select(l => l["custom_id"]!.GetValue<string>()).Order());
                Assert.All(lines, l => Assert.Equal(200, l["response"]!["status_code"]!.GetValue<int>()));
            }

            await _page.GotoAsync(Url("/ui/requests"));
            await _page.GetByLabel("Call id (x-litellm-call-id)").FillAsync(fixture.CallIds[0]);
            await _page.GetByRole(AriaRole.Button, new() { Name = "Look up" }).ClickAsync();
            // the request's attempts, from the request history Billing keeps
            Assert.Contains("success", await _page.GetByTestId("request-status").InnerTextAsync(), StringComparison.Ordinal);
            await _page.GetByTestId("attempts-table").Locator("tbody tr", new() { HasText = "success (200)" }).WaitForAsync();
            await ShotAsync($"requests-{width}", width);

            await _page.GotoAsync(Url("/ui/spend"));
            await _page.Locator("canvas#chart-spend-team[data-rendered='true']").WaitForAsync();
            await ShotAsync($"spend-{width}", width);
            await _page.Context.CloseAsync();
        }

        _page = null!;
    }

    /// <summary>A screenshot, after checking that nothing is wider than the viewport (at phone width tables turn into labelled rows).</summary>
    private async Task ShotAsync(string name, int width)
    {
        var overflow = await _page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 1, $"{name}: the page is {overflow}px wider than the {width}px viewport");
        await UiBrowser.ScreenshotAsync(_page, name);
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

        // the view loads /model/info and /cooldowns before its heading shows: on a loaded CI machine that took over 20 s once
        await _page.GetByRole(AriaRole.Heading, new() { Name = "Models" }).WaitForAsync(new() { Timeout = 60_000 });
        Assert.Equal("Models", await _page.EvaluateAsync<string>("document.activeElement.textContent"));
        Assert.Equal("page", await _page.GetByRole(AriaRole.Link, new() { Name = "Models" }).GetAttributeAsync("aria-current"));
    }

    private static decimal ParseDollars(string text) =>
        decimal.Parse(text.Trim().TrimStart('$'), NumberStyles.Float, CultureInfo.InvariantCulture);
}
