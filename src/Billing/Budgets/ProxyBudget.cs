using Broker.Config.Model;

namespace Broker.Billing.Budgets;

/// <summary>The proxy-wide budget: litellm_settings.max_budget / budget_duration, else general_settings.budget_local / budget_duration.</summary>
public sealed record ProxyBudget(decimal? MaxBudget, string? BudgetDuration)
{
    public static ProxyBudget Of(ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new ProxyBudget(
            config.LitellmSettings.MaxBudget ?? config.GeneralSettings.BudgetLocal,
            config.LitellmSettings.BudgetDuration ?? config.GeneralSettings.BudgetDuration);
    }
}
