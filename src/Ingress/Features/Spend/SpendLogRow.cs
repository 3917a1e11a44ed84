namespace Broker.Ingress.Features.Spend;

/// <summary>One broker_spend_logs row as <c>/spend/logs</c> shows it, read from either store.</summary>
public sealed record SpendLogRow(
    string RequestId, string? KeyHash, decimal Cost, int TotalTokens, int PromptTokens, int CompletionTokens, DateTimeOffset StartTime,
    DateTimeOffset EndTime, double? TtftMs, string ModelGroup, string DeploymentId, string Provider, string? UserId, string? TeamId,
    string? EndUser, IReadOnlyList<string> Tags, bool CacheHit, string Status, string? KeyAlias, double LatencyMs, string? Guardrails = null);
