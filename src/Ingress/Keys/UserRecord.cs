namespace Broker.Ingress.Keys;

/// <summary>A row of broker_users.</summary>
public sealed record UserRecord
{
    public required string UserId { get; init; }

    public string? UserEmail { get; init; }

    public string? UserAlias { get; init; }

    public string UserRole { get; init; } = "internal_user";

    public IReadOnlyList<string> Teams { get; init; } = [];

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

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }
}
