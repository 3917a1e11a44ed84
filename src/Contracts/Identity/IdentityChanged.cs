namespace Broker.Contracts.Identity;

/// <summary>
/// Published by the key management API after a key, user or team was updated or deleted: every Ingress instance
/// drops its cached copy, so the change (a deleted key, a lower budget) holds everywhere within a second.
/// </summary>
public sealed record IdentityChanged
{
    /// <summary><c>key</c> (id = key hash), <c>user</c> or <c>team</c>.</summary>
    public required string EntityType { get; init; }

    public required IReadOnlyList<string> EntityIds { get; init; }
}
