namespace Broker.Config.Model;

/// <summary>
/// A provider the admin UI offers for sign-in, with its defaults filled in (Google's, Microsoft's and GitHub's public
/// addresses). For OpenID Connect the endpoints not given are read from <see cref="Issuer"/>'s discovery document,
/// whose <c>jwks_uri</c> checks the id_token's signature.
/// </summary>
public sealed record SsoProvider
{
    /// <summary>The name in the sign-in URL (<c>/sso/key/generate?provider=NAME</c>).</summary>
    public required string Name { get; init; }

    /// <summary>The button's label (<c>Sign in with ...</c>).</summary>
    public required string DisplayName { get; init; }

    public required SsoProviderKind Kind { get; init; }

    public required string ClientId { get; init; }

    public Secret? ClientSecret { get; init; }

    /// <summary>The id_token's expected <c>iss</c>; its discovery document is <c>{issuer}/.well-known/openid-configuration</c>.</summary>
    public string? Issuer { get; init; }

    public Uri? AuthorizationEndpoint { get; init; }

    public Uri? TokenEndpoint { get; init; }

    public Uri? UserinfoEndpoint { get; init; }

    public Uri? JwksUri { get; init; }

    public required string Scope { get; init; }

    /// <summary>PKCE (S256) on the authorization request; on unless <c>use_pkce: false</c> / <c>GENERIC_CLIENT_USE_PKCE=false</c>.</summary>
    public bool UsePkce { get; init; } = true;

    /// <summary>The claim that is the user's id (<c>GENERIC_USER_ID_ATTRIBUTE</c>, default <c>sub</c>).</summary>
    public string UserIdAttribute { get; init; } = "sub";

    public string EmailAttribute { get; init; } = "email";

    public string DisplayNameAttribute { get; init; } = "name";

    /// <summary>The claim naming the user's role (<c>GENERIC_USER_ROLE_ATTRIBUTE</c>); <c>proxy_admin</c> there makes an admin.</summary>
    public string? RoleAttribute { get; init; }
}
