using Broker.Config.Loading;
using Broker.Config.Model;

namespace Broker.Config.Tests.Loading;

public sealed class SsoSettingsReaderTests
{
    private const string Models = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n";

    [Fact]
    public void Load_SeedOauth2Providers_GoogleOidcAndGitHubWithPublicAddresses()
    {
        var result = Fixtures.Load("seed-oauth2.yaml");

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity != ConfigSeverity.Info && d.Path.Contains("oauth2", StringComparison.Ordinal));
        var sso = result.Config!.GeneralSettings.Sso;
        Assert.True(sso.IsEnabled);
        var google = sso.Providers[0];
        Assert.Equal(SsoProviderKind.OpenIdConnect, google.Kind);
        Assert.Equal("https://accounts.google.com", google.Issuer);
        Assert.Equal("your-google-client-id", google.ClientId);
        Assert.Equal("openid email profile", google.Scope);
        Assert.True(google.UsePkce);
        var github = sso.Providers[1];
        Assert.Equal(SsoProviderKind.GitHub, github.Kind);
        Assert.Equal("https://github.com/login/oauth/authorize", github.AuthorizationEndpoint!.AbsoluteUri);
        Assert.Equal("https://api.github.com/user", github.UserinfoEndpoint!.AbsoluteUri);
        Assert.Equal("your-github-client-secret", github.ClientSecret!.Value);
    }

    [Fact]
    public void Load_LiteLlmGenericEnvironment_GenericProviderWithItsEndpointsAndAttributes()
    {
        var env = new Dictionary<string, string>
        {
            ["GENERIC_CLIENT_ID"] = "broker",
            ["GENERIC_CLIENT_SECRET"] = "s3cret",
            ["GENERIC_AUTHORIZATION_ENDPOINT"] = "https://idp.example.com/oauth2/v1/authorize",
            ["GENERIC_TOKEN_ENDPOINT"] = "https://idp.example.com/oauth2/v1/token",
            ["GENERIC_USERINFO_ENDPOINT"] = "https://idp.example.com/oauth2/v1/userinfo",
            ["GENERIC_SCOPE"] = "openid email",
            ["GENERIC_CLIENT_USE_PKCE"] = "false",
            ["GENERIC_USER_ID_ATTRIBUTE"] = "preferred_username",
            ["GENERIC_USER_ROLE_ATTRIBUTE"] = "groups",
            ["PROXY_BASE_URL"] = "https://broker.example.com",
            ["PROXY_ADMIN_ID"] = "alice, ops@example.com",
            ["ALLOWED_EMAIL_DOMAINS"] = "example.com",
            ["GOOGLE_CLIENT_ID"] = "google-id",
        };

        var result = Fixtures.Text(Models, env);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        var sso = result.Config!.GeneralSettings.Sso;
        Assert.Equal(["google", "generic"], sso.Providers.Select(p => p.Name));
        var generic = sso.Providers[1];
        Assert.Equal("broker", generic.ClientId);
        Assert.Equal("s3cret", generic.ClientSecret!.Value);
        Assert.Equal("https://idp.example.com/oauth2/v1/token", generic.TokenEndpoint!.AbsoluteUri);
        Assert.Equal("openid email", generic.Scope);
        Assert.False(generic.UsePkce);
        Assert.Equal("preferred_username", generic.UserIdAttribute);
        Assert.Equal("groups", generic.RoleAttribute);
        Assert.Null(generic.Issuer);
        Assert.Equal("https://broker.example.com/", sso.ProxyBaseUrl!.AbsoluteUri);
        Assert.Equal(["alice", "ops@example.com"], sso.AdminIds);
        Assert.Equal(["example.com"], sso.AllowedEmailDomains);
    }

    [Fact]
    public void Load_ProviderWithoutClientIdOrAddresses_ErrorsAtTheirPaths()
    {
        var result = Fixtures.Text(Models + """
            general_settings:
              oauth2_providers:
                - name: google
                - name: okta
                  client_id: x
                - name: keycloak
                  client_id: y
                  issuer: not-a-url
            """);

        Assert.False(result.IsUsable);
        var errors = result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Error).Select(d => d.Path).ToList();
        Assert.Contains("general_settings.oauth2_providers[0].client_id", errors);
        Assert.Contains("general_settings.oauth2_providers[1]", errors);
        Assert.Contains("general_settings.oauth2_providers[2].issuer", errors);
    }

    [Fact]
    public void Load_Oauth2Providers_NotReportedAsNotActive()
    {
        var result = Fixtures.Text(Models + """
            general_settings:
              oauth2_providers:
                - name: my-idp
                  client_id: x
                  issuer: https://idp.example.com/realms/main
            """);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Info);
        var provider = Assert.Single(result.Config!.GeneralSettings.Sso.Providers);
        Assert.Equal("my-idp", provider.DisplayName);
        Assert.Equal("https://idp.example.com/realms/main", provider.Issuer);
    }
}
