namespace Broker.Contracts.Billing;

/// <summary>
/// Published by Billing after each committed spend batch: the new running totals of every entity the batch
/// touched. Every Ingress instance applies them to its cached key/user/team records, so budget checks never
/// read the database on the request path.
/// </summary>
public sealed record SpendTotalsChanged
{
    public required IReadOnlyList<EntitySpend> Totals { get; init; }
}

/// <summary>One entity's spend since its last budget reset.</summary>
public sealed record EntitySpend
{
    /// <summary><c>key</c> (id = key hash), <c>user</c>, <c>team</c>, <c>end_user</c> or <c>proxy</c> (id = <c>global</c>).</summary>
    public required string EntityType { get; init; }

    public required string EntityId { get; init; }

    /// <summary>USD spent since the last reset.</summary>
    public required decimal Spend { get; init; }

    /// <summary>When the budget period ends and spend starts again from 0; null when the budget never resets.</summary>
    public DateTimeOffset? BudgetResetAt { get; init; }
}
