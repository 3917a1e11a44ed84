namespace Broker.Config.Model;

/// <summary>How a provider signs a user in: OpenID Connect (an id_token), or GitHub's OAuth2 (its user API).</summary>
public enum SsoProviderKind
{
    OpenIdConnect,
    GitHub,
}
