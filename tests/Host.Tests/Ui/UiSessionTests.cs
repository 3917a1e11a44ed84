using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.Ui;

/// <summary>The admin UI's files and session over plain HTTP: sign-in, the cookie as the Bearer key, CSRF, access mode.</summary>
public sealed partial class UiSessionTests : IAsyncLifetime
{
    private const string MasterKey = "sk-ui-session-master-0001";
    private BrokerRunner _broker = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _broker = await BrokerRunner.StartEmbeddedAsync(Yaml(""));
        // cookies are handled by hand: each test says exactly what it sends
        _http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = new Uri(_broker.BaseUrl) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _broker.DisposeAsync();
    }

    private static string Yaml(string extra) => $$"""
        model_list:
          - model_name: chat
            litellm_params: { model: openai/x, mock_response: "hello" }
        general_settings:
          master_key: {{MasterKey}}
          {{extra}}
        """;

    [Fact]
    public async Task SignIn_MasterKey_HttpOnlySameSiteStrictCookieAndCsrfToken()
    {
        using var response = await SignInAsync(_http, MasterKey);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith("broker_ui_session=", setCookie, StringComparison.Ordinal);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        // served over plain HTTP here: Secure would make the browser drop it (it is set over TLS)
        Assert.DoesNotContain("secure", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(MasterKey, setCookie, StringComparison.Ordinal);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("admin", body["role"]!.GetValue<string>());
        Assert.Equal(64, body["csrf_token"]!.GetValue<string>().Length);
    }

    [Fact]
    public async Task SignIn_WrongKey_Unauthorized401NoCookie()
    {
        using var response = await SignInAsync(_http, "sk-wrong");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        Assert.Contains("\"error\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_FormPost_Refused415()
    {
        using var response = await _http.PostAsync("ui/api/session", new FormUrlEncodedContent([new("key", MasterKey)]));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task CookieSession_AdminRead_ServedLikeTheBearerKey()
    {
        var (cookie, _) = await SessionAsync(MasterKey);

        using var withCookie = await SendAsync(HttpMethod.Get, "key/list", cookie);
        using var without = await _http.GetAsync("key/list");

        Assert.Equal(HttpStatusCode.OK, withCookie.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
    }

    [Fact]
    public async Task CookieSession_ChangeWithoutCsrfToken_Refused403AndNothingMade()
    {
        var (cookie, _) = await SessionAsync(MasterKey);

        using var refused = await SendAsync(HttpMethod.Post, "key/generate", cookie, """{"key_alias":"csrf-victim"}""");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("csrf_token_invalid", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var list = await SendAsync(HttpMethod.Get, "key/list?key_alias=csrf-victim", cookie);
        Assert.Empty(JsonNode.Parse(await list.Content.ReadAsStringAsync())!["keys"]!.AsArray());
    }

    [Fact]
    public async Task CookieSession_ChangeWithCsrfToken_Runs()
    {
        var (cookie, csrf) = await SessionAsync(MasterKey);

        using var made = await SendAsync(HttpMethod.Post, "key/generate", cookie, """{"key_alias":"made-by-ui"}""", csrf);
        using var wrongToken = await SendAsync(HttpMethod.Post, "key/generate", cookie, """{"key_alias":"made-by-ui-2"}""", new string('0', 64));

        Assert.Equal(HttpStatusCode.OK, made.StatusCode);
        Assert.StartsWith("sk-", JsonNode.Parse(await made.Content.ReadAsStringAsync())!["key"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, wrongToken.StatusCode);
    }

    [Fact]
    public async Task CookieSession_ChangeFromOtherOrigin_Refused403()
    {
        var (cookie, csrf) = await SessionAsync(MasterKey);

        using var request = Request(HttpMethod.Post, "key/generate", cookie, """{"key_alias":"cross-origin"}""", csrf);
        request.Headers.Add("Origin", "http://evil.example");
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("csrf_origin_mismatch", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CookieSession_InferenceRoute_CookieIsNoKey401()
    {
        var (cookie, csrf) = await SessionAsync(MasterKey);

        using var response = await SendAsync(HttpMethod.Post, "v1/chat/completions", cookie, """{"model":"chat","messages":[{"role":"user","content":"hi"}]}""", csrf);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task CookieSession_TamperedCookie_Unauthorized()
    {
        var (cookie, _) = await SessionAsync(MasterKey);
        var value = cookie["broker_ui_session=".Length..];
        var tampered = "broker_ui_session=" + (value[^1] == 'A' ? value[..^1] + "B" : value[..^1] + "A");

        using var response = await SendAsync(HttpMethod.Get, "key/list", tampered);
        using var session = await SendAsync(HttpMethod.Get, "ui/api/session", tampered);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, session.StatusCode);
    }

    [Fact]
    public async Task SignOut_WithCsrfToken_CookieCleared()
    {
        var (cookie, csrf) = await SessionAsync(MasterKey);

        using var withoutToken = await SendAsync(HttpMethod.Delete, "ui/api/session", cookie);
        using var signedOut = await SendAsync(HttpMethod.Delete, "ui/api/session", cookie, null, csrf);

        Assert.Equal(HttpStatusCode.Forbidden, withoutToken.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, signedOut.StatusCode);
        Assert.Contains("expires=Thu, 01 Jan 1970", Assert.Single(signedOut.Headers.GetValues("Set-Cookie")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task SignIn_VirtualKey_OwnKeyInfoButNotTheKeyList()
    {
        var key = await GenerateKeyAsync("own-key");
        var (cookie, _) = await SessionAsync(key);

        using var session = await SendAsync(HttpMethod.Get, "ui/api/session", cookie);
        using var info = await SendAsync(HttpMethod.Get, "key/info", cookie);
        using var list = await SendAsync(HttpMethod.Get, "key/list", cookie);
        using var spend = await SendAsync(HttpMethod.Get, "spend/logs", cookie);

        var who = JsonNode.Parse(await session.Content.ReadAsStringAsync())!;
        Assert.Equal("key", who["role"]!.GetValue<string>());
        Assert.Equal("own-key", who["key_alias"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        Assert.Equal("own-key", JsonNode.Parse(await info.Content.ReadAsStringAsync())!["info"]!["key_alias"]!.GetValue<string>());
        // the admin routes refuse the key's session as they refuse the key itself
        Assert.Contains(list.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
        Assert.Contains(spend.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
    }

    [Fact]
    public async Task SignIn_BlockedKey_Refused()
    {
        var key = await GenerateKeyAsync("blocked-key");
        using (var block = await AdminPostAsync("key/block", $$"""{"key":"{{key}}"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, block.StatusCode);
        }

        using var response = await SignInAsync(_http, key);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("is blocked", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task SignIn_VirtualKeyWhenAdminOnly_Refused403MasterKeyAdmitted()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml("ui_access_mode: admin_only"));
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = new Uri(broker.BaseUrl) };
        using var generate = new HttpRequestMessage(HttpMethod.Post, "key/generate") { Content = Json("""{"key_alias":"not-admin"}""") };
        generate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var made = await http.SendAsync(generate);
        var key = JsonNode.Parse(await made.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();

        using var refused = await SignInAsync(http, key);
        using var admitted = await SignInAsync(http, MasterKey);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("ui_admin_only", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(refused.Headers.Contains("Set-Cookie"));
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
    }

    [Fact]
    public async Task Ui_DeepLink_IndexHtmlWithCspAndNoCache()
    {
        using var response = await _http.GetAsync("ui/keys");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        var html = await response.Content.ReadAsStringAsync();
        // everything the page loads is its own: no absolute URL to anywhere
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        Assert.Matches(AssetPattern(), html);
    }

    [Fact]
    public async Task Ui_HashedAsset_ImmutableWithContentTypeAndETag()
    {
        var html = await _http.GetStringAsync("ui/");
        var script = AssetPattern().Match(html).Groups["path"].Value;

        using var response = await _http.GetAsync(script.TrimStart('/'));
        using var again = new HttpRequestMessage(HttpMethod.Get, script.TrimStart('/'));
        again.Headers.TryAddWithoutValidation("If-None-Match", response.Headers.ETag!.ToString());
        using var notModified = await _http.SendAsync(again);
        using var missing = await _http.GetAsync("ui/assets/nothing-here.js");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("public, max-age=31536000, immutable", response.Headers.CacheControl!.ToString());
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [GeneratedRegex("<script type=\"module\" src=\"(?<path>/ui/assets/main-[A-Z0-9]+\\.js)\"")]
    private static partial Regex AssetPattern();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Task<HttpResponseMessage> SignInAsync(HttpClient http, string key) =>
        http.PostAsync("ui/api/session", Json(new JsonObject { ["key"] = key }.ToJsonString()));

    private async Task<(string Cookie, string Csrf)> SessionAsync(string key)
    {
        using var response = await SignInAsync(_http, key);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie")).Split(';')[0];
        return (cookie, JsonNode.Parse(body)!["csrf_token"]!.GetValue<string>());
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string cookie, string? json = null, string? csrf = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("Cookie", cookie);
        if (json is not null)
        {
            request.Content = Json(json);
        }

        if (csrf is not null)
        {
            request.Headers.Add("X-CSRF-Token", csrf);
        }

        return request;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string cookie, string? json = null, string? csrf = null)
    {
        using var request = Request(method, path, cookie, json, csrf);
        return await _http.SendAsync(request);
    }

    private async Task<HttpResponseMessage> AdminPostAsync(string path, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(json) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        return await _http.SendAsync(request);
    }

    private async Task<string> GenerateKeyAsync(string alias)
    {
        using var response = await AdminPostAsync("key/generate", $$"""{"key_alias":"{{alias}}"}""");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonNode.Parse(body)!["key"]!.GetValue<string>();
    }
}
