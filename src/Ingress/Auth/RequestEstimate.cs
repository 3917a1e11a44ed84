using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Config.Pricing;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// What a request may use before it runs, to reserve against budgets and tpm limits: its prompt (a quarter of the body's
/// length in tokens), its <c>max_tokens</c> (else <see cref="AuthOptions.EstimatedOutputTokens"/>; none for embeddings)
/// times <c>n</c> (at most <see cref="MaxOutputTokens"/>), priced at the highest prices of the model group's deployments (the group's
/// <c>input_cost_per_token</c>/<c>output_cost_per_token</c>, else the built-in table).
/// </summary>
public sealed record RequestEstimate(long PromptTokens, long OutputTokens, ModelPrice? Price)
{
    public static RequestEstimate None { get; } = new(0, 0, null);

    /// <summary>The most output tokens one request reserves (<c>max_tokens</c> × <c>n</c> beyond it is not held).</summary>
    public const long MaxOutputTokens = 32_768;

    public long Tokens => PromptTokens + OutputTokens;

    /// <summary>What the route charges per call whatever the tokens (a pass-through endpoint's <c>cost_per_request</c>).</summary>
    public decimal FixedCost { get; init; }

    public decimal Cost => FixedCost + (Price is { } p ? (PromptTokens * p.InputPerToken) + (OutputTokens * p.OutputPerToken) : 0m);

    public static RequestEstimate Of(HttpContext http, ProxyConfig config, JsonObject? body, int defaultOutputTokens)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(config);
        var fixedCost = SpendingRoute.Of(http)?.CostPerCall ?? 0m;
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            return fixedCost > 0 ? None with { FixedCost = fixedCost } : None;
        }

        var length = http.Request.ContentLength ?? body?.ToJsonString().Length ?? 0;
        var prompt = (Math.Max(0, length) + 3) / 4;
        var path = http.Request.Path.Value ?? "";
        var output = path.Contains("/embeddings", StringComparison.OrdinalIgnoreCase) || path.Contains("count_tokens", StringComparison.OrdinalIgnoreCase)
            ? 0
            : (Integer(body, "max_tokens") ?? Integer(body, "max_completion_tokens") ?? Integer(body, "max_output_tokens") ?? Math.Max(0, defaultOutputTokens))
              * Math.Clamp(Integer(body, "n") ?? 1, 1, 128);
        // one request's hold is bounded, so a client asking for a huge max_tokens (or n) cannot hold a shared team or
        // proxy budget (or tpm window) away from everyone else until it ends
        output = Math.Min(output, MaxOutputTokens);
        var model = body?["model"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null;
        var price = model is null ? null
            : (config.FindGroup(model) is { } group ? ModelPricing.HighestOf(group.Deployments) : null) ?? PriceTable.BuiltIn.Find(model);
        return new RequestEstimate(prompt, output, price) { FixedCost = fixedCost };
    }

    /// <summary>
    /// What the answer cost: nothing for a cache hit or a failure, else the worker's <c>x-litellm-response-cost</c>, else
    /// the answer's tokens at this estimate's prices (streams), else nothing (the model's price is unknown).
    /// </summary>
    public decimal ActualCost(HttpContext http, object? result)
    {
        ArgumentNullException.ThrowIfNull(http);
        var answer = result as JsonTextResult;
        string? Header(string name) =>
            answer?.Headers.GetValueOrDefault(name) ?? (http.Response.Headers.TryGetValue(name, out var value) ? value.ToString() : null);

        if (string.Equals(Header("x-litellm-cache-hit"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return 0m;
        }

        if (decimal.TryParse(Header("x-litellm-response-cost"), NumberStyles.Float, CultureInfo.InvariantCulture, out var cost))
        {
            return cost;
        }

        return Price is { } p && AnswerTokens.Split(http, answer?.Json) is var (input, output)
            ? (input * p.InputPerToken) + (output * p.OutputPerToken)
            : 0m;
    }

    private static long? Integer(JsonObject? body, string name) =>
        body?[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) && n > 0 ? Math.Min(n, 10_000_000) : null;
}
