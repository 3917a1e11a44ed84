using System.Globalization;
using System.Text.Json;
using Broker.Config.Model;

namespace Broker.Config.Pricing;

/// <summary>
/// A deployment's price, as LiteLLM finds it: its own <c>model_info</c> (else <c>litellm_params</c>)
/// <c>input_cost_per_token</c> / <c>output_cost_per_token</c>, else the built-in table by <c>model_info.base_model</c>,
/// then by the provider model. Workers price answers with it; the Ingress estimates a request's cost before queueing.
/// </summary>
public static class ModelPricing
{
    public static ModelPrice? Of(ModelDeployment deployment, PriceTable? table = null)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        table ??= PriceTable.BuiltIn;
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

    /// <summary>
    /// The highest input and output prices among a group's deployments (any of them may answer), or null when none
    /// has a known price.
    /// </summary>
    public static ModelPrice? HighestOf(IEnumerable<ModelDeployment> deployments, PriceTable? table = null)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        ModelPrice? highest = null;
        foreach (var deployment in deployments)
        {
            if (Of(deployment, table) is { } price)
            {
                highest = highest is null
                    ? price
                    : new ModelPrice(Math.Max(highest.InputPerToken, price.InputPerToken), Math.Max(highest.OutputPerToken, price.OutputPerToken));
            }
        }

        return highest;
    }

    /// <summary>
    /// <c>input_cost_per_query</c> (model_info, else litellm_params): the price of one rerank query (one Cohere search
    /// unit), or null when not set.
    /// </summary>
    public static decimal? PerQuery(ModelDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return deployment.ModelInfo.InputCostPerQuery ?? Param(deployment, "input_cost_per_query");
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
            string s when decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => null,
        } : null;

    private static decimal? ToDecimal(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDecimal(),
        JsonValueKind.String when decimal.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };
}
