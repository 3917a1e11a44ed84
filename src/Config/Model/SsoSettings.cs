namespace Broker.Config.Model;

/// <summary>
/// Admin UI sign-in by SSO: the providers (<c>oauth2_providers</c>, then <c>GOOGLE_CLIENT_ID</c>,
/// <c>MICROSOFT_CLIENT_ID</c>, <c>GENERIC_CLIENT_ID</c> as LiteLLM reads them), the public address the providers
/// redirect back to (<c>PROXY_BASE_URL</c>), who is an admin (<c>PROXY_ADMIN_ID</c>), and which e-mail domains may
/// sign in (<c>ALLOWED_EMAIL_DOMAINS</c>).
/// </summary>
public sealed record SsoSettings
{
    public IReadOnlyList<SsoProvider> Providers { get; init; } = [];

    /// <summary>PROXY_BASE_URL: the redirect URI is <c>{base}/sso/callback</c>; without it, the request's own origin.</summary>
    public Uri? ProxyBaseUrl { get; init; }

    /// <summary>PROXY_ADMIN_ID (comma-separated): user ids or e-mail addresses that sign in as the proxy admin.</summary>
    public IReadOnlyList<string> AdminIds { get; init; } = [];

    /// <summary>ALLOWED_EMAIL_DOMAINS (comma-separated): when set, only these e-mail domains may sign in.</summary>
    public IReadOnlyList<string> AllowedEmailDomains { get; init; } = [];

    public bool IsEnabled => Providers.Count > 0;
}
