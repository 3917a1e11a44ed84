namespace Broker.Ingress.Keys;

/// <summary>A row of broker_teams.</summary>
public sealed record TeamRecord : IdentityRecord
{
    public required string TeamId { get; init; }

    public string? TeamAlias { get; init; }

    public bool Blocked { get; init; }
}
