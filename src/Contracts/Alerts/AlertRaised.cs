namespace Broker.Contracts.Alerts;

/// <summary>
/// Something an operator should hear about (general_settings.alerting): published by any role, delivered by
/// Billing's alert consumer to the configured channels (Slack, email, webhook), de-duplicated by <see cref="DedupeKey"/>.
/// </summary>
public sealed record AlertRaised
{
    /// <summary>LiteLLM's alert type: <c>budget_alerts</c>, <c>llm_exceptions</c>, <c>llm_too_slow</c>,
    /// <c>llm_requests_hanging</c>, <c>cooldown_deployment</c>, <c>spend_reports</c>, <c>db_exceptions</c>, ...</summary>
    public required string Kind { get; init; }

    /// <summary>Alerts with the same key within the de-duplication window are sent once (e.g. <c>budget:key:&lt;hash&gt;:exceeded</c>).</summary>
    public required string DedupeKey { get; init; }

    /// <summary><c>Low</c>, <c>Medium</c> or <c>High</c> (LiteLLM's levels).</summary>
    public required string Level { get; init; }

    /// <summary>Human-readable text, as sent to Slack and email.</summary>
    public required string Message { get; init; }

    public required DateTimeOffset RaisedAt { get; init; }

    /// <summary>Structured fields for webhooks (LiteLLM's webhook event fields: spend, max_budget, token, user_id, team_id, ...).</summary>
    public IReadOnlyDictionary<string, string?> Data { get; init; } = new Dictionary<string, string?>();
}
