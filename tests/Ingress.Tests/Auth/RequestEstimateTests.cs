using System.Text.Json.Nodes;
using Broker.Config.Loading;
using Broker.Ingress.Auth;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Tests.Auth;

/// <summary>What one request reserves against budgets and tpm limits before it runs.</summary>
public sealed class RequestEstimateTests
{
    private static RequestEstimate Estimate(string path, JsonObject built)
    {
        // as the body reader gives it: parsed from the request's text
        var body = JsonNode.Parse(built.ToJsonString())!.AsObject();
        var loaded = ProxyConfigLoader.LoadText("model_list: []\n", "config.yaml", _ => null);
        Assert.True(loaded.IsUsable, string.Join("\n", loaded.Diagnostics));
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.Path = path;
        http.Request.ContentLength = body.ToJsonString().Length;
        return RequestEstimate.Of(http, loaded.Config!, body, defaultOutputTokens: 256);
    }

    [Fact]
    public void Of_MaxTokensAndN_OutputIsTheirProduct()
    {
        var estimate = Estimate("/v1/chat/completions", new JsonObject { ["model"] = "gpt-4o", ["max_tokens"] = 100, ["n"] = 3 });

        Assert.Equal(300, estimate.OutputTokens);
        Assert.True(estimate.PromptTokens > 0);
    }

    [Fact]
    public void Of_HugeMaxTokensTimesHugeN_HoldIsCapped()
    {
        var estimate = Estimate("/v1/chat/completions", new JsonObject { ["model"] = "gpt-4o", ["max_tokens"] = 10_000_000, ["n"] = 128 });

        Assert.Equal(RequestEstimate.MaxOutputTokens, estimate.OutputTokens);
    }

    [Fact]
    public void Of_Embeddings_NoOutputTokens()
    {
        var estimate = Estimate("/v1/embeddings", new JsonObject { ["model"] = "text-embedding-3-small", ["input"] = "hello" });

        Assert.Equal(0, estimate.OutputTokens);
    }
}
