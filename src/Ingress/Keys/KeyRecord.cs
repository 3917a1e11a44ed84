namespace Broker.Ingress.Keys;

/// <summary>A row of broker_keys: a virtual key's settings and spend. Never holds the key itself, only its hash.</summary>
public sealed record KeyRecord
{
    public required string TokenHash { get; init; }

    /// <summary>Display form, <c>sk-...abcd</c>.</summary>
    public required string KeyName { get; init; }

    public string? KeyAlias { get; init; }

    public string? UserId { get; init; }

    public string? TeamId { get; init; }

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

    /// <summary>aliases (model name → model name) as JSON text.</summary>
    public string Aliases { get; init; } = "{}";

    public IReadOnlyList<string> AllowedRoutes { get; init; } = [];

    public DateTimeOffset? Expires { get; init; }

    public bool Blocked { get; init; }

    public string? CreatedBy { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }
}
