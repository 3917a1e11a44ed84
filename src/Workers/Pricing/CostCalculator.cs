using System.Text.Json;
using Broker.Config.Model;
using Broker.Contracts.Inference;

namespace Broker.Workers.Pricing;

/// <summary>
/// The USD cost of one call, as LiteLLM computes it: the deployment's own prices (model_info, else litellm_params
/// <c>input_cost_per_token</c> / <c>output_cost_per_token</c>), else the built-in table by model_info.base_model,
/// then by the provider model. Cached prompt tokens are charged at the cache-read price when one is known.
/// </summary>
public static class CostCalculator
{
    /// <summary>The cost, or null when the model's price is unknown. A failed call costs 0.</summary>
    public static decimal? Cost(ModelDeployment deployment, TokenUsage usage, bool failed = false, PriceTable? table = null)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(usage);
        if (failed)
        {
            return 0m;
        }

        if (PriceOf(deployment, table ?? PriceTable.BuiltIn) is not { } price)
        {
            return null;
        }

        var cached = Math.Clamp(usage.CachedPromptTokens, 0, Math.Max(0, usage.PromptTokens));
        var cachedPrice = price.CachedInputPerToken ?? price.InputPerToken;
        return ((usage.PromptTokens - cached) * price.InputPerToken) + (cached * cachedPrice) + (usage.CompletionTokens * price.OutputPerToken);
    }

    public static ModelPrice? PriceOf(ModelDeployment deployment, PriceTable table)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(table);
        var info = deployment.ModelInfo;
        var input = info.InputCostPerToken ?? Param(deployment, "input_cost_per_token");
        var output = info.OutputCostPerToken ?? Param(deployment, "output_cost_per_token");
        var known = table.Find(info.BaseModel) ?? table.Find(deployment.ProviderModel) ?? table.Find(deployment.Model);
        if (input is null && output is null)
        {
            return known;
        }

        var cachedRead = ExtraDecimal(info, "cache_read_input_token_cost") ?? Param(deployment, "cache_read_input_token_cost");
        return new ModelPrice(input ?? 0, output ?? 0, cachedRead);
    }

    private static decimal? Param(ModelDeployment deployment, string name) =>
        deployment.DefaultParams.TryGetValue(name, out var value) ? ToDecimal(value) : null;

    private static decimal? ExtraDecimal(ModelInfo info, string name) =>
        info.Extra.TryGetValue(name, out var value) ? value switch
        {
            decimal d => d,
            double d => (decimal)d,
            long l => l,
            int i => i,
            string s when decimal.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
            _ => null,
        } : null;

    private static decimal? ToDecimal(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDecimal(),
        JsonValueKind.String when decimal.TryParse(value.GetString(), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };
}
