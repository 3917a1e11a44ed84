using System.Text.Json;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Config.Pricing;
using Broker.Workers.Pricing;

namespace Broker.Workers.Tests.Pricing;

public sealed class CostCalculatorTests
{
    private static TokenUsage Usage(int prompt, int completion, int cached = 0) =>
        new() { PromptTokens = prompt, CompletionTokens = completion, CachedPromptTokens = cached };

    [Fact]
    public void Cost_ModelInfoPrices_AreUsedExactly()
    {
        var deployment = TestDeployments.Create(model: "openai/my-private-model") with
        {
            ModelInfo = new ModelInfo { InputCostPerToken = 0.000001m, OutputCostPerToken = 0.000003m },
        };

        Assert.Equal(0.000010m + 0.000060m, CostCalculator.Cost(deployment, Usage(10, 20)));
    }

    [Fact]
    public void Cost_LitellmParamsPrices_AreUsedWhenModelInfoHasNone()
    {
        var defaults = new Dictionary<string, JsonElement>
        {
            ["input_cost_per_token"] = JsonSerializer.SerializeToElement(0.5m),
            ["output_cost_per_token"] = JsonSerializer.SerializeToElement("0.25"),
        };
        var deployment = TestDeployments.Create(model: "openai/unknown-model", defaults: defaults);

        Assert.Equal(2 * 0.5m + 4 * 0.25m, CostCalculator.Cost(deployment, Usage(2, 4)));
    }

    [Fact]
    public void Cost_KnownModelWithDatedVersion_UsesBuiltInTable()
    {
        var deployment = TestDeployments.Create(model: "anthropic/claude-3-5-sonnet-20240620");

        Assert.Equal(1000 * 0.000003m + 100 * 0.000015m, CostCalculator.Cost(deployment, Usage(1000, 100)));
    }

    [Fact]
    public void Cost_CachedPromptTokens_ChargedAtCacheReadPrice()
    {
        var deployment = TestDeployments.Create(model: "openai/gpt-4o-mini-2024-07-18");

        Assert.Equal(600 * 0.00000015m + 400 * 0.000000075m + 10 * 0.0000006m, CostCalculator.Cost(deployment, Usage(1000, 10, cached: 400)));
    }

    [Fact]
    public void Cost_BaseModel_WinsOverDeploymentName()
    {
        var deployment = TestDeployments.Create(model: "azure/my-gpt-deployment") with { ModelInfo = new ModelInfo { BaseModel = "gpt-4o" } };

        Assert.Equal(100 * 0.0000025m, CostCalculator.Cost(deployment, Usage(100, 0)));
    }

    [Fact]
    public void Cost_UnknownModel_IsNull() =>
        Assert.Null(CostCalculator.Cost(TestDeployments.Create(model: "openai/no-such-model-xyz"), Usage(1, 1)));

    [Fact]
    public void Cost_Failed_IsZero() =>
        Assert.Equal(0m, CostCalculator.Cost(TestDeployments.Create(), Usage(100, 100), failed: true));

    [Theory]
    [InlineData("gpt-4o", "gpt-4o")]
    [InlineData("gpt-4o-2024-08-06", "gpt-4o")]
    [InlineData("gpt-4o-mini", "gpt-4o-mini")]
    [InlineData("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano")]
    [InlineData("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet")]
    [InlineData("claude-3.5-sonnet", "claude-3-5-sonnet")]
    [InlineData("models/gemini-2.0-flash", "gemini-2.0-flash")]
    [InlineData("gemini-2.5-flash-lite", "gemini-2.5-flash-lite")]
    [InlineData("text-embedding-3-small", "text-embedding-3-small")]
    public void Find_ModelName_MatchesEntry(string model, string entry) =>
        Assert.Equal(PriceTable.BuiltIn.Find(entry), PriceTable.BuiltIn.Find(model));

    [Fact]
    public void Find_PrefixWithoutBoundary_DoesNotMatch() =>
        Assert.NotEqual(PriceTable.BuiltIn.Find("gpt-4"), PriceTable.BuiltIn.Find("gpt-4o"));

    [Fact]
    public void Build_PriceParams_AreNotSentToTheProvider()
    {
        var defaults = new Dictionary<string, JsonElement>
        {
            ["input_cost_per_token"] = JsonSerializer.SerializeToElement(0.5m),
            ["temperature"] = JsonSerializer.SerializeToElement(0.2),
        };
        var request = Broker.Workers.Inference.ChatRequestBuilder.Build(new System.Text.Json.Nodes.JsonObject(), TestDeployments.Create(defaults: defaults), "gpt-4o");

        Assert.False(request.ContainsKey("input_cost_per_token"));
        Assert.True(request.ContainsKey("temperature"));
    }
}
