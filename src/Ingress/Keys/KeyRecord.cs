namespace Broker.Ingress.Keys;

/// <summary>A row of broker_keys: a virtual key's settings and spend. Never holds the key itself, only its hash.</summary>
public sealed record KeyRecord : IdentityRecord
{
    public required string TokenHash { get; init; }

    /// <summary>Display form, <c>sk-...abcd</c>.</summary>
    public required string KeyName { get; init; }

    public string? KeyAlias { get; init; }

    public string? UserId { get; init; }

    public string? TeamId { get; init; }

    /// <summary>aliases (model name → model name) as JSON text.</summary>
    public string Aliases { get; init; } = "{}";

    public IReadOnlyList<string> AllowedRoutes { get; init; } = [];

    public DateTimeOffset? Expires { get; init; }

    public bool Blocked { get; init; }

    public string? CreatedBy { get; init; }
}
