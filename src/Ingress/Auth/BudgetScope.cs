namespace Broker.Ingress.Auth;

/// <summary>
/// One budget a request is held against: a key's, user's or team's <c>max_budget</c>, or the proxy's
/// (<c>litellm_settings.max_budget</c>), with the spend this instance knows Billing wrote in the current period.
/// <c>Period</c> names that budget period (0 without <c>budget_duration</c>); a later period starts from 0.
/// </summary>
public sealed record BudgetScope(string Type, string Id, decimal MaxBudget, decimal KnownSpend, long Period)
{
    /// <summary>
    /// The scope of an entity's budget: its spend counts as 0 once <paramref name="resetAt"/> has passed (Billing has not
    /// reset it yet), and that is a new period.
    /// </summary>
    public static BudgetScope Of(string type, string id, decimal maxBudget, decimal spend, DateTimeOffset? resetAt, DateTimeOffset now) =>
        resetAt switch
        {
            null => new BudgetScope(type, id, maxBudget, spend, 0),
            { } reset when reset <= now => new BudgetScope(type, id, maxBudget, 0, reset.ToUnixTimeMilliseconds() + 1),
            { } reset => new BudgetScope(type, id, maxBudget, spend, reset.ToUnixTimeMilliseconds()),
        };
}
