using Broker.Config.Model;

namespace Broker.Billing.Budgets;

/// <summary>LiteLLM's budget_duration (<see cref="LiteLlmDuration"/>: <c>30s</c> … <c>1mo</c>, plain seconds, fractions).</summary>
public static class BudgetDuration
{
    /// <summary>When a period that starts at <paramref name="from"/> ends; null when the text is not a positive duration.</summary>
    public static DateTimeOffset? NextReset(string? duration, DateTimeOffset from) =>
        LiteLlmDuration.TryParse(duration, out var d) && d.Length > TimeSpan.Zero ? d.After(from) : null;
}
