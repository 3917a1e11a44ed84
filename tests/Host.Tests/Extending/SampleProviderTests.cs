using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config.Loading;
using Broker.Host.Tests.Infrastructure;
using Broker.Workers.Providers;

namespace Broker.Host.Tests.Extending;

/// <summary>A provider added with one registration line is known to the config loader and called through the HTTP API.</summary>
public sealed class SampleProviderTests : IAsyncLifetime
{
    private BrokerRunner _broker = null!;

    public async Task InitializeAsync()
    {
        // the one registration line of the recipe, before the config is loaded
        ProviderRegistry.Add<SampleProvider>(SampleProvider.Descriptor);

        _broker = await BrokerRunner.StartEmbeddedAsync("""
            model_list:
              - model_name: echo
                litellm_params:
                  model: sample/echo-1
              - model_name: echo-alias
                litellm_params:
                  model: sample_ai/echo-2
                  api_base: http://127.0.0.1:1/v2
            """, new Dictionary<string, string> { ["SAMPLE_API_KEY"] = "sk-sample-from-env" });
    }

    public async Task DisposeAsync() => await _broker.DisposeAsync();

    [Fact]
    public async Task ChatCompletion_RegisteredSampleProvider_AnswersWithKeyFromItsEnvVariable()
    {
        var (status, body) = await ChatAsync("""{"model":"echo","messages":[{"role":"user","content":"hi"}],"temperature":0.1}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(
            "model=echo-1 key=sk-sample-from-env base=https://api.sample.invalid/v1 params=messages,model,temperature",
            body["choices"]![0]!["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChatCompletion_SampleProviderAlias_UsesTheSameImplementation()
    {
        var (status, body) = await ChatAsync("""{"model":"echo-alias","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("model=echo-2 key=sk-sample-from-env base=http://127.0.0.1:1/v2 ", body["choices"]![0]!["message"]!["content"]!.GetValue<string>(),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletion_ParamOutsideSupportedParams_RefusedUnlessDropParams()
    {
        var (refusedStatus, refused) = await ChatAsync("""{"model":"echo","messages":[{"role":"user","content":"hi"}],"top_p":0.5}""");
        var (droppedStatus, dropped) = await ChatAsync("""{"model":"echo","messages":[{"role":"user","content":"hi"}],"top_p":0.5,"drop_params":true}""");

        Assert.Equal(HttpStatusCode.BadRequest, refusedStatus);
        Assert.StartsWith("sample does not support parameters: top_p", refused["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, droppedStatus);
        Assert.EndsWith("params=messages,model", dropped["choices"]![0]!["message"]!["content"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletion_SampleProviderStreamed_StreamsItsChunks()
    {
        using var response = await _broker.Http.PostAsync("v1/chat/completions",
            new StringContent("""{"model":"echo","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("model=echo-1 key=sk-sample-from-env", text, StringComparison.Ordinal);
        Assert.Contains("data: [DONE]", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RegisteredSampleProvider_IsKnownToTheLoader()
    {
        var result = ProxyConfigLoader.LoadText("model_list:\n  - model_name: a\n    litellm_params:\n      model: sample/x\n", "config.yaml", _ => null);

        Assert.DoesNotContain(result.Diagnostics, d => d.Message.Contains("unknown provider", StringComparison.Ordinal));
        Assert.Equal("sample", Assert.Single(result.Config!.ModelList).Provider);
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> ChatAsync(string json)
    {
        using var response = await _broker.Http.PostAsync("v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }
}
