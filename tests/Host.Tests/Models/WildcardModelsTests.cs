using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Infrastructure;

namespace Broker.Host.Tests.Models;

/// <summary>GET /v1/models lists wildcard groups (callable by any matching name) by their pattern.</summary>
public sealed class WildcardModelsTests
{
    [Fact]
    public async Task ListModels_WildcardGroups_ListedByPatternAfterNamedGroups()
    {
        await using var broker = await BrokerRunner.StartEmbeddedAsync("""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_key: sk-x}
              - model_name: "anthropic/*"
                litellm_params: {model: "anthropic/*", api_key: sk-y}
              - model_name: "*"
                litellm_params: {model: "openai/*", api_key: sk-z}
            """);

        var models = await broker.Http.GetFromJsonAsync<JsonObject>("v1/models");

        var ids = models!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToList();
        Assert.Equal("gpt-4o", ids[0]);
        Assert.Equal(["*", "anthropic/*", "gpt-4o"], ids.Order(StringComparer.Ordinal));
    }
}
