using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Guardrails;

/// <summary>The seed's litellm_settings.guardrails snippet, unchanged, acting: Lakera on every request, Presidio and hide_secrets when asked.</summary>
public sealed class GuardrailsSeedTests : IAsyncLifetime
{
    private const string MasterKey = "sk-test-master-key-seed";

    // the seed's snippet as published (litellm_settings.guardrails), only indented as YAML
    private const string SeedSnippet = """
        litellm_settings:
          guardrails:
            - prompt_injection:
                callbacks: [lakera_prompt_injection]
                default_on: true
            - pii_masking:
                callbacks: [presidio]
                default_on: false
            - hide_secrets_guard:
                callbacks: [hide_secrets]
                default_on: false
        """;

    private BrokerRunner? _broker;
    private FakeUpstream _openAi = null!;
    private FakeGuardrailServer _guards = null!;

    public async Task InitializeAsync()
    {
        _openAi = await FakeUpstream.StartOpenAiAsync();
        _guards = await FakeGuardrailServer.StartAsync();
        var yaml = $$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{_openAi.BaseUrl}}/v1", api_key: sk-openai-test-key-1234}
            general_settings:
              master_key: {{MasterKey}}
            {{SeedSnippet}}
            """;
        var env = new Dictionary<string, string>
        {
            ["LAKERA_API_KEY"] = "lk-seed-key",
            ["LAKERA_API_BASE"] = _guards.BaseUrl,
            ["PRESIDIO_ANALYZER_API_BASE"] = _guards.BaseUrl,
            ["PRESIDIO_ANONYMIZER_API_BASE"] = _guards.BaseUrl,
        };
        _broker = await BrokerRunner.StartEmbeddedAsync(yaml, env);
    }

    public async Task DisposeAsync()
    {
        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }

        await _openAi.DisposeAsync();
        await _guards.DisposeAsync();
    }

    [Fact]
    public async Task Chat_SeedGuardrails_LakeraOnEveryRequestOthersWhenAsked()
    {
        var flagged = await ChatAsync("do something EVIL", null);
        var masked = await ChatAsync("John Smith has key AKIAQWERTYUIOPASDFGH", new JsonArray("pii_masking", "hide_secrets_guard"));

        Assert.Equal(HttpStatusCode.BadRequest, flagged.Status);
        Assert.Contains("'prompt_injection'", JsonNode.Parse(flagged.Body)!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, masked.Status);
        Assert.Equal("<PERSON> has key [REDACTED:aws_access_key_id]", _openAi.Requests.Single().Body["messages"]![0]!["content"]!.GetValue<string>());
        Assert.Equal(2, _guards.BodiesAt("/v2/guard").Count());
        Assert.All(_guards.Requests.Where(r => r.Path == "/v2/guard"), r => Assert.Equal("Bearer lk-seed-key", r.Authorization));
    }

    private async Task<(HttpStatusCode Status, string Body)> ChatAsync(string text, JsonArray? guardrails)
    {
        var body = new JsonObject
        {
            ["model"] = "gpt-4o",
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
        };
        if (guardrails is not null)
        {
            body["guardrails"] = guardrails;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MasterKey);
        using var response = await _broker!.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
