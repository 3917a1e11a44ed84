namespace Broker.Ingress.Keys;

/// <summary>
/// The columns broker_keys, broker_users and broker_teams share: allowed models, budget and spend, rate limits,
/// metadata and timestamps. Enforced the same way whichever of the three carries them.
/// </summary>
public abstract record IdentityRecord
{
    public IReadOnlyList<string> Models { get; init; } = [];

    public decimal? MaxBudget { get; init; }

    public decimal? SoftBudget { get; init; }

    public string? BudgetDuration { get; init; }

    public DateTimeOffset? BudgetResetAt { get; init; }

    public decimal Spend { get; init; }

    public long? RpmLimit { get; init; }

    public long? TpmLimit { get; init; }

    public int? MaxParallelRequests { get; init; }

    /// <summary>metadata as JSON text.</summary>
    public string Metadata { get; init; } = "{}";

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }
}
