using System.Globalization;
using Broker.Billing.Persistence;
using Broker.Config.Model;
using Broker.Contracts.Alerts;

namespace Broker.Billing.Budgets;

/// <summary>
/// LiteLLM's budget alerts: <c>threshold_crossed</c> when an entity's spend reaches its soft budget (soft_budget, else
/// budget_alert_buffer × max_budget, 0.8 by default) and <c>budget_crossed</c> when it reaches max_budget. Seen only at the
/// batch that crosses, from the exact before and after totals, so each crossing is raised once per budget period.
/// </summary>
public static class BudgetAlerts
{
    public const double DefaultAlertBuffer = 0.8;

    public static IReadOnlyList<AlertRaised> For(IEnumerable<EntityTotal> totals, ProxyConfig config, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(totals);
        ArgumentNullException.ThrowIfNull(config);
        var alerts = new List<AlertRaised>();
        var buffer = (decimal)(config.GeneralSettings.BudgetAlertBuffer ?? DefaultAlertBuffer);
        var proxyBudget = ProxyBudget.Of(config);
        foreach (var total in totals)
        {
            var max = total is { EntityType: "proxy" } ? proxyBudget.MaxBudget : total.MaxBudget;
            if (max is not { } budget || total.Delta <= 0)
            {
                continue;
            }

            var before = total.Spend - total.Delta;
            var soft = total.SoftBudget ?? budget * buffer;
            if (before < budget && total.Spend >= budget)
            {
                alerts.Add(Alert(total, budget, "budget_crossed", "High", now,
                    $"Budget Crossed for {Describe(total)}: spend ${Usd(total.Spend)} reached max_budget ${Usd(budget)}"));
            }
            else if (before < soft && total.Spend >= soft)
            {
                alerts.Add(Alert(total, budget, "threshold_crossed", "Medium", now,
                    $"Soft budget crossed for {Describe(total)}: spend ${Usd(total.Spend)} of max_budget ${Usd(budget)} (alert at ${Usd(soft)})"));
            }
        }

        return alerts;
    }

    private static AlertRaised Alert(EntityTotal total, decimal budget, string @event, string level, DateTimeOffset now, string message) => new()
    {
        Kind = "budget_alerts",
        DedupeKey = $"budget:{total.EntityType}:{total.EntityId}:{@event}:{total.BudgetResetAt?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) ?? "none"}",
        Level = level,
        Message = message,
        RaisedAt = now,
        Data = new Dictionary<string, string?>
        {
            ["event"] = @event,
            ["event_group"] = total.EntityType,
            ["spend"] = Plain(total.Spend),
            ["max_budget"] = Plain(budget),
            ["soft_budget"] = total.SoftBudget is { } softBudget ? Plain(softBudget) : null,
            ["token"] = total.EntityType == "key" ? total.EntityId : null,
            ["user_id"] = total.EntityType == "user" ? total.EntityId : total.UserId,
            ["team_id"] = total.EntityType == "team" ? total.EntityId : total.TeamId,
            ["customer_id"] = total.EntityType == "end_user" ? total.EntityId : null,
            ["budget_reset_at"] = total.BudgetResetAt?.ToString("O", CultureInfo.InvariantCulture),
            ["event_message"] = message,
        },
    };

    private static string Describe(EntityTotal total) => total.EntityType switch
    {
        "key" => "key " + (total.EntityId.Length > 8 ? total.EntityId[..8] + "…" : total.EntityId),
        "proxy" => "the proxy",
        _ => $"{total.EntityType} {total.EntityId}",
    };

    /// <summary>An amount without the database's trailing zeros (1.0000000000 → 1).</summary>
    private static string Plain(decimal amount) => amount.ToString("G29", CultureInfo.InvariantCulture);

    private static string Usd(decimal amount) => amount.ToString("0.00####", CultureInfo.InvariantCulture);
}
