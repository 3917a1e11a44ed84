using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Health;

/// <summary>general_settings.health_check_details: false keeps GET /health to each deployment's model and error.</summary>
public sealed class HealthCheckDetailsTests
{
    [Fact]
    public async Task Health_HealthCheckDetailsFalse_EntriesShowOnlyModelAndError()
    {
        await using var good = await FakeUpstream.StartOpenAiAsync();
        await using var bad = await FakeUpstream.StartOpenAiAsync();
        bad.Failure = (401, """{"error":{"message":"bad key","type":"invalid_request_error"}}""", null);

        var detailed = await HealthAsync(Yaml(good, bad, ""));
        var hidden = await HealthAsync(Yaml(good, bad, "general_settings:\n  health_check_details: false\n"));

        // by default each entry names its group, deployment id and api_base
        var healthy = Assert.Single(detailed["healthy_endpoints"]!.AsArray())!.AsObject();
        Assert.Equal("up", healthy["model_name"]!.GetValue<string>());
        Assert.Equal(good.BaseUrl + "/v1", healthy["api_base"]!.GetValue<string>());

        Assert.Equal(1, hidden["healthy_count"]!.GetValue<int>());
        Assert.Equal(1, hidden["unhealthy_count"]!.GetValue<int>());
        var shortHealthy = Assert.Single(hidden["healthy_endpoints"]!.AsArray())!.AsObject();
        Assert.Equal(["model"], shortHealthy.Select(p => p.Key).ToArray());
        Assert.Equal("openai/up", shortHealthy["model"]!.GetValue<string>());
        var shortUnhealthy = Assert.Single(hidden["unhealthy_endpoints"]!.AsArray())!.AsObject();
        Assert.Equal(["error", "model"], shortUnhealthy.Select(p => p.Key).Order().ToArray());
        Assert.DoesNotContain(bad.BaseUrl, hidden.ToJsonString(), StringComparison.Ordinal);
    }

    private static string Yaml(FakeUpstream good, FakeUpstream bad, string extra) => $$"""
        model_list:
          - model_name: up
            litellm_params: {model: openai/up, api_base: "{{good.BaseUrl}}/v1", api_key: k}
          - model_name: down
            litellm_params: {model: openai/down, api_base: "{{bad.BaseUrl}}/v1", api_key: k}
        {{extra}}
        """;

    private static async Task<JsonObject> HealthAsync(string yaml)
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml);
        using var response = await broker.Http.GetAsync("health");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!.AsObject();
    }
}
