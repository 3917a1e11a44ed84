using System.Text.Json.Nodes;

namespace Broker.Ingress.Features.Spend;

/// <summary>
/// One broker_spend_logs row as <c>/spend/logs</c> shows it, read from either store. <see cref="Guardrails"/> is the row's
/// own column (pre_call decisions, which travel with the usage event); <see cref="DecidedGuardrails"/> the request's
/// during_call and post_call decisions, which Billing keeps beside the row (broker_spend_guardrails).
/// </summary>
public sealed record SpendLogRow(
    string RequestId, string? KeyHash, decimal Cost, int TotalTokens, int PromptTokens, int CompletionTokens, DateTimeOffset StartTime,
    DateTimeOffset EndTime, double? TtftMs, string ModelGroup, string DeploymentId, string Provider, string? UserId, string? TeamId,
    string? EndUser, IReadOnlyList<string> Tags, bool CacheHit, string Status, string? KeyAlias, double LatencyMs, string? Guardrails = null,
    string? DecidedGuardrails = null)
{
    /// <summary>
    /// Every guardrail decision of the request, pre_call first, then during_call and post_call as they were made:
    /// [{guardrail, mode, decision, latency_ms}], or null when none ran.
    /// </summary>
    public JsonArray? AllGuardrails()
    {
        if (Guardrails is null && DecidedGuardrails is null)
        {
            return null;
        }

        var all = new JsonArray();
        foreach (var json in new[] { Guardrails, DecidedGuardrails })
        {
            if (json is not null && JsonNode.Parse(json) is JsonArray decisions)
            {
                foreach (var decision in decisions.ToList())
                {
                    decisions.Remove(decision);
                    all.Add(decision);
                }
            }
        }

        return all;
    }
}
