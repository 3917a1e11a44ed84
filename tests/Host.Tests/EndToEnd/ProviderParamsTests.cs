using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// What goes out to a provider: only what its API takes. Gateway-only litellm_params stay in the gateway, drop_params
/// and additional_drop_params act as in LiteLLM, and an unknown provider prefix fails only the calls to its deployment.
/// </summary>
public sealed class ProviderParamsTests : IAsyncLifetime
{
    private FakeUpstream _openAi = null!;
    private FakeUpstream _anthropic = null!;

    public async Task InitializeAsync()
    {
        _openAi = await FakeUpstream.StartOpenAiAsync();
        _anthropic = await FakeUpstream.StartAnthropicAsync();
    }

    public async Task DisposeAsync()
    {
        await _openAi.DisposeAsync();
        await _anthropic.DisposeAsync();
    }

    [Fact]
    public async Task ChatCompletion_DeploymentWithGatewayOnlyParams_SendsNoneOfThemToTheProvider()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: tagged
                litellm_params:
                  model: openai/gpt-4o-mini
                  api_base: {{_openAi.BaseUrl}}/v1
                  api_key: sk-upstream
                  temperature: 0.2
                  tags: [team-a, free]
                  region_name: eu-west-1
                  custom_llm_provider: openai
                  drop_params: true
                  additional_drop_params: [logit_bias]
                  input_cost_per_second: 0.0001
                  output_cost_per_second: 0.0002
                  input_cost_per_token: 0.000001
                  use_in_pass_through: false
                  litellm_credential_name: my-openai-credential
                  aws_region_name: us-east-1
                  vertex_project: my-project
                  max_budget: 10
                  budget_duration: 30d
            """);

        var (status, _) = await ChatAsync(broker, """{"model":"tagged","messages":[{"role":"user","content":"hi"}],"tags":["x"]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var sent = Assert.Single(_openAi.Requests).Body;
        Assert.Equal(0.2, sent["temperature"]!.GetValue<double>());
        Assert.Equal("gpt-4o-mini", sent["model"]!.GetValue<string>());
        var gatewayOnly = new[]
        {
            "tags", "region_name", "custom_llm_provider", "drop_params", "additional_drop_params", "input_cost_per_second",
            "output_cost_per_second", "input_cost_per_token", "use_in_pass_through", "litellm_credential_name", "aws_region_name",
            "vertex_project", "max_budget", "budget_duration", "api_key",
        };
        var leaked = gatewayOnly.Where(sent.ContainsKey).ToList();
        Assert.True(leaked.Count == 0, "sent to the provider: " + string.Join(", ", leaked));
    }

    [Fact]
    public async Task ChatCompletion_AdditionalDropParams_DropsTheNamedParamsEvenForOpenAi()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: vllm
                litellm_params:
                  model: hosted_vllm/llama-3
                  api_base: {{_openAi.BaseUrl}}/v1
                  additional_drop_params: ["logit_bias", "user"]
            """);

        var (status, _) = await ChatAsync(broker,
            """{"model":"vllm","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"user":"u-1","seed":7}""");

        Assert.Equal(HttpStatusCode.OK, status);
        var sent = Assert.Single(_openAi.Requests).Body;
        Assert.False(sent.ContainsKey("logit_bias"));
        Assert.False(sent.ContainsKey("user"));
        Assert.Equal(7, sent["seed"]!.GetValue<int>());
    }

    [Fact]
    public async Task ChatCompletion_UnsupportedParamWithoutDropParams_Is400NamingTheParam()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(AnthropicYaml(""));

        var (status, body) = await ChatAsync(broker, """{"model":"claude","messages":[{"role":"user","content":"hi"}],"logit_bias":{"1":2},"n":1}""");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body["error"]!;
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Equal("unsupported_params", error["code"]!.GetValue<string>());
        Assert.Contains("anthropic does not support parameters: logit_bias, n", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(_anthropic.Requests);
    }

    [Theory]
    [InlineData("litellm_settings:\n  drop_params: true\n", "")]
    [InlineData("", "      drop_params: true\n")]
    [InlineData("", "", ",\"drop_params\":true")]
    public async Task ChatCompletion_DropParams_DropsWhatTheProviderDoesNotSupport(string settings, string deploymentParams, string requestParams = "")
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(AnthropicYaml(deploymentParams) + settings);

        var (status, body) = await ChatAsync(broker,
            "{\"model\":\"claude\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"logit_bias\":{\"1\":2},\"temperature\":0.5" + requestParams + "}");

        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var sent = Assert.Single(_anthropic.Requests).Body;
        Assert.Equal(0.5, sent["temperature"]!.GetValue<double>());
        Assert.False(sent.ContainsKey("logit_bias"));
        Assert.False(sent.ContainsKey("drop_params"));
    }

    /// <summary>
    /// A deployment Broker cannot call (an unknown provider prefix, as in LiteLLM's load_balancer.yaml; an azure entry
    /// without api_base, as in its azure_config.yaml) does not stop the rest: LiteLLM starts and fails only its calls.
    /// </summary>
    [Theory]
    [InlineData("mistralai/mistral-7b-instruct", "unknown_provider", "Unknown provider 'mistralai' in 'mistralai/mistral-7b-instruct'")]
    [InlineData("azure/gpt-4", "deployment_not_configured", "Azure deployment 'azure/gpt-4' (model group 'broken') has no api_base")]
    public async Task Start_DeploymentBrokerCannotCall_ServesTheOthersAndFailsOnlyThatDeployment(string model, string code, string message)
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: broken
                litellm_params:
                  model: {{model}}
                  api_key: sk-123
              - model_name: gpt
                litellm_params:
                  model: openai/gpt-4o-mini
                  api_base: {{_openAi.BaseUrl}}/v1
            """);

        var (okStatus, _) = await ChatAsync(broker, """{"model":"gpt","messages":[{"role":"user","content":"hi"}]}""");
        var (status, body) = await ChatAsync(broker, """{"model":"broken","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = body["error"]!;
        Assert.Equal(code, error["code"]!.GetValue<string>());
        Assert.StartsWith(message, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Single(_openAi.Requests);
    }

    private string AnthropicYaml(string deploymentParams) => $$"""
        model_list:
          - model_name: claude
            litellm_params:
              model: anthropic/claude-3-5-sonnet-20240620
              api_base: {{_anthropic.BaseUrl}}
              api_key: sk-ant-test
        {{deploymentParams}}
        """;

    private static async Task<(HttpStatusCode Status, JsonObject Body)> ChatAsync(BrokerRunner broker, string json)
    {
        using var response = await broker.Http.PostAsync("v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }
}
