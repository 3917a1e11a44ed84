using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Ui;

/// <summary>
/// Admin UI sign-in by SSO over real HTTP: Broker, a fake OpenID Connect provider (and a GitHub-shaped one) on
/// 127.0.0.1, and the browser's part (redirects and cookies) played by hand, so each test says exactly what it sends.
/// </summary>
public sealed class SsoSignInTests : IAsyncLifetime
{
    private const string MasterKey = "sk-sso-master-0001";
    private FakeOidcServer _idp = null!;
    private BrokerRunner _broker = null!;

    public async Task InitializeAsync()
    {
        _idp = await FakeOidcServer.StartAsync();
        _broker = await StartBrokerAsync(_idp, "");
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _idp.DisposeAsync();
    }

    private static Task<BrokerRunner> StartBrokerAsync(FakeOidcServer idp, string extra, string provider = "google") =>
        BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/x, mock_response: "hello" }
            general_settings:
              master_key: {{MasterKey}}
              oauth2_providers:
                - name: {{provider}}
                  client_id: {{idp.ClientId}}
                  client_secret: os.environ/SSO_TEST_CLIENT_SECRET
            {{(idp.IsGitHub
                ? $"      authorization_endpoint: {idp.Issuer}/login/oauth/authorize\n      token_endpoint: {idp.Issuer}/login/oauth/access_token\n      userinfo_endpoint: {idp.Issuer}/user"
                : $"      issuer: {idp.Issuer}")}}
              {{extra}}
            """,
            new Dictionary<string, string> { ["SSO_TEST_CLIENT_SECRET"] = idp.ClientSecret, ["PROXY_ADMIN_ID"] = "admin@example.com" });

    [Fact]
    public async Task SsoSignIn_ProxyAdminEmail_AdminSessionWithPkceStateAndNonce()
    {
        _idp.NextUser = new FakeOidcUser("admin-sub", "admin@example.com", "Ada Admin");

        var (callback, cookie) = await SignInAsync(_broker, "google");

        Assert.Equal("/ui/", callback.Headers.Location!.OriginalString);
        Assert.NotNull(cookie);
        var setCookie = callback.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("broker_ui_session=", StringComparison.Ordinal));
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        var authorize = Assert.Single(_idp.Authorizations);
        Assert.Equal("S256", authorize["code_challenge_method"]);
        Assert.Equal(43, authorize["code_challenge"].Length);
        Assert.True(authorize["state"].Length >= 32);
        Assert.True(authorize["nonce"].Length >= 32);
        Assert.Equal(_broker.BaseUrl + "/sso/callback", authorize["redirect_uri"]);
        Assert.Equal(43, Assert.Single(_idp.TokenRequests)["code_verifier"].Length);
        var session = await GetJsonAsync(_broker, "ui/api/session", cookie!);
        Assert.Equal("admin", session["role"]!.GetValue<string>());
        Assert.Equal("admin@example.com", session["user_email"]!.GetValue<string>());
        // the admin's session can do what the master key can
        using var list = await SendAsync(_broker, HttpMethod.Get, "key/list", cookie!);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Fact]
    public async Task SsoSignIn_NewUser_CreatedAsInternalUserSeesOnlyOwnKeys()
    {
        _idp.NextUser = new FakeOidcUser("bob-sub", "bob@example.com", "Bob");
        var (_, cookie) = await SignInAsync(_broker, "google");
        Assert.NotNull(cookie);
        var bobKey = await AdminPostAsync(_broker, "key/generate", """{"user_id":"bob-sub","key_alias":"bob-key"}""");
        await AdminPostAsync(_broker, "key/generate", """{"user_id":"someone-else","key_alias":"other-key"}""");

        var session = await GetJsonAsync(_broker, "ui/api/session", cookie!);
        var info = await GetJsonAsync(_broker, "user/info", cookie!);
        using var list = await SendAsync(_broker, HttpMethod.Get, "key/list", cookie!);
        using var other = await SendAsync(_broker, HttpMethod.Get, "user/info?user_id=someone-else", cookie!);

        Assert.Equal("user", session["role"]!.GetValue<string>());
        Assert.Equal("bob-sub", session["user_id"]!.GetValue<string>());
        Assert.Equal("bob-sub", info["user_id"]!.GetValue<string>());
        Assert.Equal("internal_user", info["user_info"]!["user_role"]!.GetValue<string>());
        Assert.Equal("bob@example.com", info["user_info"]!["user_email"]!.GetValue<string>());
        var alias = Assert.Single(info["keys"]!.AsArray())!["key_alias"]!.GetValue<string>();
        Assert.Equal("bob-key", alias);
        Assert.NotNull(bobKey["key"]);
        Assert.Equal(HttpStatusCode.Unauthorized, list.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, other.StatusCode);
    }

    [Fact]
    public async Task SsoSignIn_UserPromotedToProxyAdmin_SignsInAsAdmin()
    {
        await AdminPostAsync(_broker, "user/new", """{"user_id":"carol","user_email":"carol@example.com","user_role":"proxy_admin","auto_create_key":false}""");
        _idp.NextUser = new FakeOidcUser("carol-sub-at-idp", "carol@example.com", "Carol");

        var (_, cookie) = await SignInAsync(_broker, "google");

        var session = await GetJsonAsync(_broker, "ui/api/session", cookie!);
        Assert.Equal("admin", session["role"]!.GetValue<string>());
        Assert.Equal("carol", session["user_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task SsoCallback_StateMismatch_RefusedWithoutSessionOrCodeExchange()
    {
        _idp.NextUser = new FakeOidcUser("admin-sub", "admin@example.com");
        _idp.ReplaceState = "forged-state";

        var (callback, cookie) = await SignInAsync(_broker, "google");

        Assert.Equal("/ui/?sso_error=sso_state_mismatch", callback.Headers.Location!.OriginalString);
        Assert.Null(cookie);
        Assert.Empty(_idp.TokenRequests);
    }

    [Fact]
    public async Task SsoCallback_NoFlowCookie_RefusedAsStateMismatch()
    {
        // an attacker's own callback link (login CSRF): this browser never started a sign-in
        using var http = NoRedirects(_broker);
        using var callback = await http.GetAsync("sso/callback?code=stolen&state=whatever");

        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        Assert.Equal("/ui/?sso_error=sso_state_mismatch", callback.Headers.Location!.OriginalString);
        Assert.DoesNotContain(callback.Headers.TryGetValues("Set-Cookie", out var c) ? c : [], v => v.StartsWith("broker_ui_session=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SsoCallback_IdTokenSignedByUnknownKey_Refused()
    {
        _idp.NextUser = new FakeOidcUser("admin-sub", "admin@example.com");
        _idp.SignWithUnknownKey = true;

        var (callback, cookie) = await SignInAsync(_broker, "google");

        Assert.Equal("/ui/?sso_error=sso_id_token_invalid", callback.Headers.Location!.OriginalString);
        Assert.Null(cookie);
    }

    [Fact]
    public async Task SsoCallback_IdTokenForAnotherClient_Refused()
    {
        _idp.NextUser = new FakeOidcUser("admin-sub", "admin@example.com");
        _idp.Audience = "some-other-client";

        var (callback, cookie) = await SignInAsync(_broker, "google");

        Assert.Equal("/ui/?sso_error=sso_id_token_invalid", callback.Headers.Location!.OriginalString);
        Assert.Null(cookie);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(null)] // the claim absent, as Entra ID sends its tokens
    public async Task SsoSignIn_UnverifiedAdminEmail_NotAdmin(bool? verified)
    {
        _idp.NextUser = new FakeOidcUser("mallory-sub-" + (verified is null ? "absent" : "false"), "admin@example.com", "Mallory", EmailVerified: verified);

        var (_, cookie) = await SignInAsync(_broker, "google");

        var session = await GetJsonAsync(_broker, "ui/api/session", cookie!);
        Assert.Equal("user", session["role"]!.GetValue<string>());
    }

    [Fact]
    public async Task SsoSignIn_AdminOnlyNonAdmin_RefusedAdminAdmitted()
    {
        await using var broker = await StartBrokerAsync(_idp, "ui_access_mode: admin_only");
        _idp.NextUser = new FakeOidcUser("dave-sub", "dave@example.com");
        var (refused, none) = await SignInAsync(broker, "google");
        _idp.NextUser = new FakeOidcUser("admin-sub", "admin@example.com");
        var (_, cookie) = await SignInAsync(broker, "google");

        Assert.Equal("/ui/?sso_error=ui_admin_only", refused.Headers.Location!.OriginalString);
        Assert.Null(none);
        Assert.NotNull(cookie);
    }

    [Fact]
    public async Task SsoSignIn_GitHub_VerifiedPrimaryEmailMakesAdmin()
    {
        await using var github = await FakeOidcServer.StartGitHubAsync();
        await using var broker = await StartBrokerAsync(github, "", provider: "github");
        github.NextUser = new FakeOidcUser("4242", "admin@example.com", "octo");

        var (_, cookie) = await SignInAsync(broker, "github");

        Assert.NotNull(cookie);
        var session = await GetJsonAsync(broker, "ui/api/session", cookie!);
        Assert.Equal("admin", session["role"]!.GetValue<string>());
        Assert.Equal("4242", session["user_id"]!.GetValue<string>());
        Assert.DoesNotContain("nonce", Assert.Single(github.Authorizations).Keys);
    }

    [Fact]
    public async Task SsoSignIn_TwoProvidersSameId_EachItsOwnUserNeitherAdminById()
    {
        await using var other = await FakeOidcServer.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: chat
                litellm_params: { model: openai/x, mock_response: "hello" }
            general_settings:
              master_key: {{MasterKey}}
              oauth2_providers:
                - name: google
                  client_id: {{_idp.ClientId}}
                  client_secret: os.environ/SSO_TEST_CLIENT_SECRET
                  issuer: {{_idp.Issuer}}
                - name: corp
                  client_id: {{other.ClientId}}
                  client_secret: os.environ/SSO_OTHER_CLIENT_SECRET
                  issuer: {{other.Issuer}}
            """,
            new Dictionary<string, string>
            {
                ["SSO_TEST_CLIENT_SECRET"] = _idp.ClientSecret, ["SSO_OTHER_CLIENT_SECRET"] = other.ClientSecret,
                ["PROXY_ADMIN_ID"] = "google:admin-sub",
            });
        _idp.NextUser = new FakeOidcUser("admin-sub", "ada@example.com", "Ada");
        other.NextUser = new FakeOidcUser("admin-sub", "mallory@example.org", "Mallory");

        var (_, adminCookie) = await SignInAsync(broker, "google");
        var (_, otherCookie) = await SignInAsync(broker, "corp");

        var admin = await GetJsonAsync(broker, "ui/api/session", adminCookie!);
        var intruder = await GetJsonAsync(broker, "ui/api/session", otherCookie!);
        Assert.Equal("google:admin-sub", admin["user_id"]!.GetValue<string>());
        Assert.Equal("admin", admin["role"]!.GetValue<string>());
        // the same id from the other provider is another user, and not the admin the id names
        Assert.Equal("corp:admin-sub", intruder["user_id"]!.GetValue<string>());
        Assert.NotEqual("admin", intruder["role"]!.GetValue<string>());
    }

    [Fact]
    public async Task SsoProviders_Configured_ListedWithLoginUrl()
    {
        var providers = await GetJsonAsync(_broker, "ui/api/sso", null);
        using var http = NoRedirects(_broker);
        using var unknown = await http.GetAsync("sso/key/generate?provider=nope");

        var provider = Assert.Single(providers["providers"]!.AsArray())!;
        Assert.Equal("google", provider["name"]!.GetValue<string>());
        Assert.Equal("Google", provider["display_name"]!.GetValue<string>());
        Assert.Equal("/sso/key/generate?provider=google", provider["login_url"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("sso_unknown_provider", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_BehindTrustedTlsProxy_SecureCookieElseNot()
    {
        await using var broker = await StartBrokerAsync(_idp, "use_x_forwarded_for: true\n  trusted_proxies: [\"127.0.0.1\"]");
        using var http = NoRedirects(broker);

        async Task<string> SessionCookieAsync(BrokerRunner target, string? proto)
        {
            using var client = NoRedirects(target);
            using var request = new HttpRequestMessage(HttpMethod.Post, "ui/api/session")
            {
                Content = new StringContent($$"""{"key":"{{MasterKey}}"}""", Encoding.UTF8, "application/json"),
            };
            if (proto is not null)
            {
                request.Headers.Add("X-Forwarded-Proto", proto);
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response.Headers.GetValues("Set-Cookie").Single();
        }

        var trusted = await SessionCookieAsync(broker, "https");
        var plain = await SessionCookieAsync(broker, null);
        // the class's broker does not trust forwarded headers: the same header changes nothing
        var untrusted = await SessionCookieAsync(_broker, "https");

        Assert.Contains("secure", trusted, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", plain, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", untrusted, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The browser's part: start at Broker, follow to the provider, follow back to the callback with the flow cookie.
    /// Returns the callback's answer and the session cookie it set (null when none).
    /// </summary>
    private static async Task<(HttpResponseMessage Callback, string? Session)> SignInAsync(BrokerRunner broker, string provider)
    {
        using var http = NoRedirects(broker);
        using var start = await http.GetAsync($"sso/key/generate?provider={provider}");
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var flowCookie = start.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("broker_sso_flow=", StringComparison.Ordinal));
        Assert.Contains("samesite=lax", flowCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", flowCookie, StringComparison.OrdinalIgnoreCase);
        using var authorize = await http.GetAsync(start.Headers.Location);
        Assert.Equal(HttpStatusCode.Redirect, authorize.StatusCode);
        var back = authorize.Headers.Location!;
        Assert.StartsWith(broker.BaseUrl + "/sso/callback?", back.AbsoluteUri, StringComparison.Ordinal);
        using var request = new HttpRequestMessage(HttpMethod.Get, back);
        request.Headers.Add("Cookie", flowCookie.Split(';')[0]);
        var callback = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Redirect, callback.StatusCode);
        var session = callback.Headers.TryGetValues("Set-Cookie", out var cookies)
            ? cookies.FirstOrDefault(c => c.StartsWith("broker_ui_session=", StringComparison.Ordinal))?.Split(';')[0]
            : null;
        return (callback, session);
    }

    private static HttpClient NoRedirects(BrokerRunner broker) =>
        new(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = new Uri(broker.BaseUrl + "/") };

    private static async Task<HttpResponseMessage> SendAsync(BrokerRunner broker, HttpMethod method, string path, string cookie)
    {
        using var http = NoRedirects(broker);
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", cookie);
        return await http.SendAsync(request);
    }

    private static async Task<JsonNode> GetJsonAsync(BrokerRunner broker, string path, string? cookie)
    {
        using var http = NoRedirects(broker);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cookie is not null)
        {
            request.Headers.Add("Cookie", cookie);
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }

    private static async Task<JsonNode> AdminPostAsync(BrokerRunner broker, string path, string json)
    {
        using var http = NoRedirects(broker);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!;
    }
}
