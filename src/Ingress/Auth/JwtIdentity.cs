namespace Broker.Ingress.Auth;

/// <summary>Who a valid JWT names: its user, team and whether it carries the proxy admin scope/role.</summary>
public sealed record JwtIdentity(string? UserId, string? TeamId, bool IsAdmin)
{
    /// <summary>
    /// With <c>team_ids_jwt_field</c> (and no <c>team_id_jwt_field</c> value): the token's teams; the caller's team is the
    /// first one the gateway knows, and a token naming only unknown teams is refused.
    /// </summary>
    public IReadOnlyList<string> TeamCandidates { get; init; } = [];

    /// <summary>The claim <see cref="TeamCandidates"/> came from, for the refusal's message.</summary>
    public string? TeamCandidatesClaim { get; init; }
}
