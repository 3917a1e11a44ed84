namespace Broker.Ingress.Keys;

/// <summary>A row of broker_users.</summary>
public sealed record UserRecord : IdentityRecord
{
    public required string UserId { get; init; }

    public string? UserEmail { get; init; }

    public string? UserAlias { get; init; }

    public string UserRole { get; init; } = "internal_user";

    public IReadOnlyList<string> Teams { get; init; } = [];
}
