namespace Broker.Ingress.Keys;

/// <summary>A row of broker_teams.</summary>
public sealed record TeamRecord
{
    public required string TeamId { get; init; }

    public string? TeamAlias { get; init; }

    public IReadOnlyList<string> Models { get; init; } = [];

    public decimal? MaxBudget { get; init; }

    public decimal? SoftBudget { get; init; }

    public string? BudgetDuration { get; init; }

    public DateTimeOffset? BudgetResetAt { get; init; }

    public decimal Spend { get; init; }

    public long? RpmLimit { get; init; }

    public long? TpmLimit { get; init; }

    public int? MaxParallelRequests { get; init; }

    public string Metadata { get; init; } = "{}";

    public bool Blocked { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }
}
