using System.Net.Http.Headers;
using System.Text;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using Microsoft.Playwright;

namespace Broker.Host.Tests.Ui;

/// <summary>
/// Sign-in by SSO in a real browser (Debian's chromium-headless-shell) against an in-process Broker and a fake OpenID
/// Connect provider on 127.0.0.1: the whole redirect dance, the admin-only refusal, a forged state, a user's own keys.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SsoBrowserTests : IAsyncLifetime
{
    private const string MasterKey = "sk-sso-browser-master-0001";
    private UiBrowser _browser = null!;
    private FakeOidcServer _idp = null!;
    private BrokerRunner _broker = null!;
    private IPage? _page;

    public async Task InitializeAsync()
    {
        _browser = await UiBrowser.LaunchAsync();
        _idp = await FakeOidcServer.StartAsync();
        _broker = await StartBrokerAsync("");
    }

    public async Task DisposeAsync()
    {
        if (_page is not null)
        {
            await _page.Context.CloseAsync();
        }

        await _broker.DisposeAsync();
        await _idp.DisposeAsync();
        await _browser.DisposeAsync();
        // every test: nothing left 127.0.0.1 and the page raised no error (a CSP refusal is a console error)
        Assert.Empty(_browser.OutsideRequests);
        Assert.Empty(_browser.PageErrors);
    }

    private Task<BrokerRunner> StartBrokerAsync(string extra) =>
        BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/x, mock_response: "hello" }
            general_settings:
              master_key: {{MasterKey}}
              oauth2_providers:
                - name: google
                  client_id: {{_idp.ClientId}}
                  client_secret: {{_idp.ClientSecret}}
                  issuer: {{_idp.Issuer}}
              {{extra}}
            """,
            new Dictionary<string, string> { ["PROXY_ADMIN_ID"] = "admin@example.com" });

    [Fact]
    public async Task SsoSignIn_Admin_EndToEndSignedInWithStrictSessionCookie()
    {
        _idp.NextUser = new FakeOidcUser("admin-sub", "admin@example.com", "Ada Admin");
        _page = await _browser.NewPageAsync();
        await _page.GotoAsync(_broker.BaseUrl + "/ui/");
        var google = _page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Google" });
        await google.WaitForAsync();
        await UiBrowser.ScreenshotAsync(_page, "sign-in-sso-1280");

        await google.ClickAsync();

        await _page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).WaitForAsync();
        await _page.GetByRole(AriaRole.Heading, new() { Name = "Keys", Exact = true }).WaitForAsync();
        Assert.Contains("Signed in as admin@example.com (admin)", await _page.Locator("header").InnerTextAsync(), StringComparison.Ordinal);
        var cookie = Assert.Single(await _page.Context.CookiesAsync(), c => c.Name == "broker_ui_session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        // the flow cookie is spent
        Assert.DoesNotContain(await _page.Context.CookiesAsync(), c => c.Name == "broker_sso_flow");
        var authorize = Assert.Single(_idp.Authorizations);
        Assert.Equal("S256", authorize["code_challenge_method"]);
    }

    [Fact]
    public async Task SsoSignIn_NonAdminUser_SeesOnlyOwnKeys()
    {
        _idp.NextUser = new FakeOidcUser("erin-sub", "erin@example.com", "Erin");
        _page = await _browser.NewPageAsync();
        await _page.GotoAsync(_broker.BaseUrl + "/ui/");
        await _page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Google" }).ClickAsync();
        await _page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).WaitForAsync();
        // the user exists now (created on first sign-in): give them a key, and someone else one
        await GenerateKeyAsync("""{"user_id":"erin-sub","key_alias":"erin-laptop"}""");
        await GenerateKeyAsync("""{"user_id":"frank","key_alias":"frank-secret-key"}""");

        await _page.ReloadAsync();

        var keys = _page.GetByTestId("my-keys");
        await keys.WaitForAsync();
        var text = await keys.InnerTextAsync();
        Assert.Contains("erin-laptop", text, StringComparison.Ordinal);
        Assert.DoesNotContain("frank", await _page.ContentAsync(), StringComparison.Ordinal);
        Assert.Contains("Signed in as erin@example.com", await _page.Locator("header").InnerTextAsync(), StringComparison.Ordinal);
        await UiBrowser.ScreenshotAsync(_page, "my-keys-sso-1280");
    }

    [Fact]
    public async Task SsoSignIn_AdminOnlyNonAdmin_RefusedWithMessage()
    {
        await using var adminOnly = await StartBrokerAsync("ui_access_mode: admin_only");
        _idp.NextUser = new FakeOidcUser("gina-sub", "gina@example.com", "Gina");
        _page = await _browser.NewPageAsync();
        await _page.GotoAsync(adminOnly.BaseUrl + "/ui/");

        await _page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Google" }).ClickAsync();

        var alert = _page.GetByRole(AriaRole.Alert);
        await alert.WaitForAsync();
        Assert.Contains("for the proxy admin only", await alert.InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await _page.Context.CookiesAsync(), c => c.Name == "broker_ui_session");
        Assert.DoesNotContain("sso_error", _page.Url, StringComparison.Ordinal);
        Assert.Equal(0, await _page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).CountAsync());
    }

    [Fact]
    public async Task SsoSignIn_StateMismatch_RefusedWithMessage()
    {
        _idp.NextUser = new FakeOidcUser("admin-sub", "admin@example.com");
        _idp.ReplaceState = "forged-by-someone-else";
        _page = await _browser.NewPageAsync();
        await _page.GotoAsync(_broker.BaseUrl + "/ui/");

        await _page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Google" }).ClickAsync();

        var alert = _page.GetByRole(AriaRole.Alert);
        await alert.WaitForAsync();
        Assert.Contains("could not be matched", await alert.InnerTextAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(await _page.Context.CookiesAsync(), c => c.Name == "broker_ui_session");
        Assert.Empty(_idp.TokenRequests);
    }

    private async Task GenerateKeyAsync(string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "key/generate") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await _broker.Http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}
