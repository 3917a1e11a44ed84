namespace Broker.Ingress.Auth;

/// <summary>Who a valid JWT names: its user, team and whether it carries the proxy admin scope/role.</summary>
public sealed record JwtIdentity(string? UserId, string? TeamId, bool IsAdmin);
