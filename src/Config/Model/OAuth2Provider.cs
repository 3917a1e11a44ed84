namespace Broker.Config.Model;

/// <summary>
/// An <c>oauth2_providers</c> entry as written: <c>name</c> (<c>google</c>, <c>github</c>, <c>microsoft</c>, or any name
/// for a generic OpenID Connect provider), <c>client_id</c>, <c>client_secret</c>, and (Broker) the provider's addresses
/// when they are not the public ones: <c>issuer</c> (its discovery document is read), <c>authorization_endpoint</c>,
/// <c>token_endpoint</c>, <c>userinfo_endpoint</c>, <c>jwks_uri</c>, and <c>scope</c>, <c>tenant</c> (Microsoft),
/// <c>use_pkce</c>, <c>display_name</c>.
/// </summary>
public sealed record OAuth2Provider(string Name, string? ClientId, Secret? ClientSecret)
{
    public string? Issuer { get; init; }

    public string? AuthorizationEndpoint { get; init; }

    public string? TokenEndpoint { get; init; }

    public string? UserinfoEndpoint { get; init; }

    public string? JwksUri { get; init; }

    public string? Scope { get; init; }

    public string? Tenant { get; init; }

    public bool? UsePkce { get; init; }

    public string? DisplayName { get; init; }
}
