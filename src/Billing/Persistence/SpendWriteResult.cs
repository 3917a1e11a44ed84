namespace Broker.Billing.Persistence;

/// <summary>What one committed spend batch did: how many events were new, and the touched entities' new totals.</summary>
public sealed record SpendWriteResult(int Received, int Inserted, IReadOnlyList<EntityTotal> Totals);

/// <summary>
/// One entity's spend after a batch: <c>key</c> (id = key hash), <c>user</c>, <c>team</c>, <c>end_user</c>, <c>proxy</c>,
/// <c>tag</c> or <c>model_group</c>; with the amount this batch added and the budget it is checked against.
/// </summary>
public sealed record EntityTotal(
    string EntityType,
    string EntityId,
    decimal Spend,
    decimal Delta,
    DateTimeOffset? BudgetResetAt,
    decimal? MaxBudget = null,
    decimal? SoftBudget = null,
    string? UserId = null,
    string? TeamId = null);
