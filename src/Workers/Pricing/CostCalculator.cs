using Broker.Config.Model;
using Broker.Config.Pricing;
using Broker.Contracts.Inference;

namespace Broker.Workers.Pricing;

/// <summary>
/// The USD cost of one call, as LiteLLM computes it: the deployment's price (<see cref="ModelPricing"/>: its own
/// model_info, else litellm_params <c>input_cost_per_token</c> / <c>output_cost_per_token</c>, else the built-in table
/// by model_info.base_model, then by the provider model). Cached prompt tokens are charged at the cache-read price when
/// one is known.
/// </summary>
public static class CostCalculator
{
    /// <summary>
    /// A rerank's cost: <c>input_cost_per_query</c> × search units when the deployment sets it, else its input tokens at
    /// the per-token price; null when neither is known. A failed call costs 0.
    /// </summary>
    public static decimal? RerankCost(ModelDeployment deployment, TokenUsage usage, int searchUnits, bool failed = false, PriceTable? table = null)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(usage);
        if (failed)
        {
            return 0m;
        }

        return ModelPricing.PerQuery(deployment) is { } perQuery
            ? perQuery * Math.Max(1, searchUnits)
            : Cost(deployment, usage with { CompletionTokens = 0 }, failed: false, table);
    }

    /// <summary>The cost, or null when the model's price is unknown. A failed call costs 0.</summary>
    public static decimal? Cost(ModelDeployment deployment, TokenUsage usage, bool failed = false, PriceTable? table = null)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(usage);
        if (failed)
        {
            return 0m;
        }

        if (ModelPricing.Of(deployment, table ?? PriceTable.BuiltIn) is not { } price)
        {
            return null;
        }

        var cached = Math.Clamp(usage.CachedPromptTokens, 0, Math.Max(0, usage.PromptTokens));
        var cachedPrice = price.CachedInputPerToken ?? price.InputPerToken;
        return ((usage.PromptTokens - cached) * price.InputPerToken) + (cached * cachedPrice) + (usage.CompletionTokens * price.OutputPerToken);
    }
}
