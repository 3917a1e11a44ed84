using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Security;

/// <summary>
/// general_settings.custom_auth as an HTTP hook: Broker asks it about every key but the master key, enforces the
/// identity it answers (models, rpm), and refuses when it denies (401) or cannot be asked (503, fail closed).
/// </summary>
public sealed class CustomAuthTests
{
    private const string MasterKey = "sk-master-custom-auth";

    private static string Yaml(string upstream, string hook, string extra = "", bool masterKey = true) => $$"""
        model_list:
          - model_name: gpt-4o
            litellm_params:
              model: openai/gpt-4o
              api_base: {{upstream}}/v1
              api_key: sk-upstream
          - model_name: gpt-4o-mini
            litellm_params:
              model: openai/gpt-4o-mini
              api_base: {{upstream}}/v1
              api_key: sk-upstream
        general_settings:
        {{(masterKey ? "  master_key: " + MasterKey : "")}}
          custom_auth:
            url: {{hook}}
            headers: {x-hook-secret: os.environ/HOOK_SECRET}
        {{extra}}
        """;

    private static readonly Dictionary<string, string> Env = new() { ["HOOK_SECRET"] = "hook-shared-secret" };

    private static async Task<(HttpStatusCode Status, JsonObject Body)> ChatAsync(BrokerRunner broker, string key, string model = "gpt-4o")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = JsonContent.Create(new { model, messages = new[] { new { role = "user", content = "hi" } } }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        request.Headers.Add("x-tenant", "acme");
        using var response = await broker.Http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task Chat_HookAllows_ServedAndHookSawMethodPathHeadersAndKey()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var hook = await FakeAuthHook.StartAsync();
        hook.Answer = _ => (200, new JsonObject { ["allow"] = true, ["user_id"] = "u-1", ["key_alias"] = "from-hook" });
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, hook.Url), Env);

        var (status, _) = await ChatAsync(broker, "sk-customer-key-1");

        Assert.Equal(HttpStatusCode.OK, status);
        var (body, headers) = Assert.Single(hook.Questions);
        Assert.Equal("POST", body["method"]!.GetValue<string>());
        Assert.Equal("/v1/chat/completions", body["path"]!.GetValue<string>());
        Assert.Equal("sk-customer-key-1", body["api_key"]!.GetValue<string>());
        Assert.Equal("acme", body["headers"]!["x-tenant"]!.GetValue<string>());
        Assert.Null(body["headers"]!["authorization"]);
        Assert.Equal("hook-shared-secret", headers["x-hook-secret"]);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Chat_HookDenies_401InOpenAiShapeAndNothingSent()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var hook = await FakeAuthHook.StartAsync();
        hook.Answer = _ => (200, new JsonObject { ["allow"] = false, ["message"] = "key revoked by the IdP" });
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, hook.Url), Env);

        var (status, body) = await ChatAsync(broker, "sk-revoked");
        var (forbiddenStatus, _) = await WithAnswerAsync(hook, 403, broker);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("key revoked by the IdP", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, forbiddenStatus);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Chat_HookModelsAndRpm_Enforced()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var hook = await FakeAuthHook.StartAsync();
        hook.Answer = _ => (200, new JsonObject { ["allow"] = true, ["models"] = new JsonArray("gpt-4o-mini"), ["rpm_limit"] = 1 });
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, hook.Url), Env);

        var (outside, outsideBody) = await ChatAsync(broker, "sk-limited", "gpt-4o");
        var (first, _) = await ChatAsync(broker, "sk-limited", "gpt-4o-mini");
        var (second, _) = await ChatAsync(broker, "sk-limited", "gpt-4o-mini");

        Assert.Equal(HttpStatusCode.Unauthorized, outside);
        Assert.Equal("key_model_access_denied", outsideBody["error"]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, first);
        Assert.Equal(HttpStatusCode.TooManyRequests, second);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Chat_HookTooSlowOrDown_503FailClosed()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var hook = await FakeAuthHook.StartAsync();
        hook.Delay = TimeSpan.FromSeconds(10);
        await using var slow = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, hook.Url, "    timeout: 0.5"), Env);
        await using var down = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, "http://127.0.0.1:9/check"), Env);

        var (slowStatus, slowBody) = await ChatAsync(slow, "sk-any");
        var (downStatus, downBody) = await ChatAsync(down, "sk-any");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, slowStatus);
        Assert.Equal("custom_auth_unavailable", slowBody["error"]!["code"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, downStatus);
        Assert.Equal("custom_auth_unavailable", downBody["error"]!["code"]!.GetValue<string>());
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Chat_HookAnswersWithoutAllowTrue_503FailClosedAndNothingSent()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var hook = await FakeAuthHook.StartAsync();
        hook.Answer = _ => (200, new JsonObject { ["user_id"] = "u-1" });
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, hook.Url), Env);

        var (status, body) = await ChatAsync(broker, "sk-anything");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("custom_auth_unavailable", body["error"]!["code"]!.GetValue<string>());
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Chat_NoMasterKeyWithHook_GatewayIsNotOpen()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var hook = await FakeAuthHook.StartAsync();
        hook.Answer = _ => (200, new JsonObject { ["allow"] = false });
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, hook.Url, masterKey: false), Env);

        var (status, _) = await ChatAsync(broker, "sk-anything");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Single(hook.Questions);
    }

    [Fact]
    public async Task Chat_MasterKey_NotSentToTheHook()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var hook = await FakeAuthHook.StartAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync(Yaml(upstream.BaseUrl, hook.Url), Env);

        var (status, _) = await ChatAsync(broker, MasterKey);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(hook.Questions);
    }

    private static async Task<(HttpStatusCode, JsonObject)> WithAnswerAsync(FakeAuthHook hook, int status, BrokerRunner broker)
    {
        hook.Answer = _ => (status, new JsonObject { ["message"] = "forbidden" });
        return await ChatAsync(broker, "sk-forbidden");
    }
}
