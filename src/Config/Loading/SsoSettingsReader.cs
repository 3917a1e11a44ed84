using Broker.Config.Model;

namespace Broker.Config.Loading;

/// <summary>
/// <c>general_settings.oauth2_providers</c> and LiteLLM's SSO environment variables → <see cref="SsoSettings"/>. An entry
/// without a client id, a generic provider with neither an issuer nor its endpoints, a name given twice, or an address
/// that is not an absolute http(s) URL is an error at its path.
/// </summary>
internal static class SsoSettingsReader
{
    private const string GoogleIssuer = "https://accounts.google.com";
    private const string OidcScope = "openid email profile";

    public static List<OAuth2Provider> ReadProviders(MapReader g)
    {
        var result = new List<OAuth2Provider>();
        var list = g.Sequence("oauth2_providers");
        if (list is null)
        {
            return result;
        }

        var convert = g.Convert;
        for (var i = 0; i < list.Children.Count; i++)
        {
            var path = $"{g.ChildPath("oauth2_providers")}[{i}]";
            var map = convert.Map(list.Children[i], path);
            if (map is null)
            {
                continue;
            }

            var r = new MapReader(convert, map, path);
            var name = GeneralSettingsReader.Required(r, "name");
            var provider = new OAuth2Provider(name ?? "", r.String("client_id"), r.Secret("client_secret"))
            {
                Issuer = Url(r, "issuer"),
                AuthorizationEndpoint = Url(r, "authorization_endpoint"),
                TokenEndpoint = Url(r, "token_endpoint"),
                UserinfoEndpoint = Url(r, "userinfo_endpoint"),
                JwksUri = Url(r, "jwks_uri"),
                Scope = r.String("scope"),
                Tenant = r.String("tenant"),
                UsePkce = r.Bool("use_pkce"),
                DisplayName = r.String("display_name"),
            };
            r.Finish();
            if (name is null)
            {
                continue;
            }

            if (result.Exists(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                convert.Context.Error(map, r.ChildPath("name"), $"provider '{name}' is listed twice");
                continue;
            }

            var kind = name.ToLowerInvariant();
            if (provider.ClientId is null && EnvPrefix(kind) is { } prefix && convert.Context.GetEnv(prefix + "_CLIENT_ID") is { Length: > 0 } envId)
            {
                provider = provider with { ClientId = envId };
            }

            if (provider.ClientSecret is null && EnvPrefix(kind) is { } secretPrefix &&
                convert.Context.GetEnv(secretPrefix + "_CLIENT_SECRET") is { Length: > 0 } envSecret)
            {
                provider = provider with { ClientSecret = new Secret(envSecret) };
            }

            if (string.IsNullOrEmpty(provider.ClientId))
            {
                convert.Context.Error(map, r.ChildPath("client_id"), "required (the client id the provider gave this gateway)");
                continue;
            }

            if (kind is not ("google" or "github" or "microsoft") && provider.Issuer is null &&
                (provider.AuthorizationEndpoint is null || provider.TokenEndpoint is null))
            {
                convert.Context.Error(map, path,
                    $"provider '{name}' is not google, github or microsoft: give its issuer (OpenID Connect discovery) or authorization_endpoint and token_endpoint");
                continue;
            }

            result.Add(provider);
        }

        return result;
    }

    /// <summary>The providers of <paramref name="declared"/> with their defaults, then those only the environment names.</summary>
    public static SsoSettings Read(MapReader g, IReadOnlyList<OAuth2Provider> declared)
    {
        var context = g.Convert.Context;
        var providers = declared.Select(p => Resolve(p, context)).ToList();

        void FromEnv(string name, string prefix, Func<OAuth2Provider, OAuth2Provider>? more = null)
        {
            if (providers.Exists(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) ||
                context.GetEnv(prefix + "_CLIENT_ID") is not { Length: > 0 } clientId)
            {
                return;
            }

            var secret = context.GetEnv(prefix + "_CLIENT_SECRET") is { Length: > 0 } s ? new Secret(s) : null;
            var provider = new OAuth2Provider(name, clientId, secret);
            providers.Add(Resolve(more is null ? provider : more(provider), context));
        }

        FromEnv("google", "GOOGLE");
        FromEnv("microsoft", "MICROSOFT", p => p with { Tenant = context.GetEnv("MICROSOFT_TENANT") });
        FromEnv("github", "GITHUB");
        FromEnv("generic", "GENERIC", p => p with
        {
            Issuer = EnvUrl(context, "GENERIC_ISSUER"),
            AuthorizationEndpoint = EnvUrl(context, "GENERIC_AUTHORIZATION_ENDPOINT"),
            TokenEndpoint = EnvUrl(context, "GENERIC_TOKEN_ENDPOINT"),
            UserinfoEndpoint = EnvUrl(context, "GENERIC_USERINFO_ENDPOINT"),
            Scope = context.GetEnv("GENERIC_SCOPE"),
            UsePkce = context.GetEnv("GENERIC_CLIENT_USE_PKCE") is { Length: > 0 } pkce ? !string.Equals(pkce, "false", StringComparison.OrdinalIgnoreCase) : null,
            DisplayName = context.GetEnv("GENERIC_CLIENT_DISPLAY_NAME"),
        });
        if (providers.Find(p => p.Name == "generic") is { } generic && generic.Issuer is null &&
            (generic.AuthorizationEndpoint is null || generic.TokenEndpoint is null))
        {
            context.Error(null, "GENERIC_CLIENT_ID", "GENERIC_AUTHORIZATION_ENDPOINT and GENERIC_TOKEN_ENDPOINT (or GENERIC_ISSUER) are required with GENERIC_CLIENT_ID");
            providers.Remove(generic);
        }

        return new SsoSettings
        {
            Providers = providers,
            ProxyBaseUrl = EnvUrl(context, "PROXY_BASE_URL") is { } baseUrl ? new Uri(baseUrl.TrimEnd('/') + "/") : null,
            AdminIds = List(context.GetEnv("PROXY_ADMIN_ID")),
            AllowedEmailDomains = List(context.GetEnv("ALLOWED_EMAIL_DOMAINS")).Select(d => d.TrimStart('@')).ToList(),
        };
    }

    private static SsoProvider Resolve(OAuth2Provider p, LoadContext context)
    {
        var kind = p.Name.ToLowerInvariant();
        var generic = kind is not ("google" or "github" or "microsoft");
        var provider = new SsoProvider
        {
            Name = p.Name,
            DisplayName = p.DisplayName ?? kind switch
            {
                "google" => "Google",
                "github" => "GitHub",
                "microsoft" => "Microsoft",
                "generic" => "SSO",
                _ => p.Name,
            },
            Kind = kind == "github" ? SsoProviderKind.GitHub : SsoProviderKind.OpenIdConnect,
            ClientId = p.ClientId!,
            ClientSecret = p.ClientSecret,
            Issuer = (p.Issuer ?? kind switch
            {
                "google" when p.AuthorizationEndpoint is null => GoogleIssuer,
                "microsoft" when p.AuthorizationEndpoint is null => $"https://login.microsoftonline.com/{p.Tenant ?? "common"}/v2.0",
                _ => null,
            })?.TrimEnd('/'),
            AuthorizationEndpoint = Uri(p.AuthorizationEndpoint ?? (kind == "github" ? "https://github.com/login/oauth/authorize" : null)),
            TokenEndpoint = Uri(p.TokenEndpoint ?? (kind == "github" ? "https://github.com/login/oauth/access_token" : null)),
            UserinfoEndpoint = Uri(p.UserinfoEndpoint ?? (kind == "github" ? "https://api.github.com/user" : null)),
            JwksUri = Uri(p.JwksUri),
            Scope = p.Scope ?? (kind == "github" ? "read:user user:email" : OidcScope),
            UsePkce = p.UsePkce ?? true,
        };
        return generic && kind == "generic"
            ? provider with
            {
                UserIdAttribute = context.GetEnv("GENERIC_USER_ID_ATTRIBUTE") ?? "sub",
                EmailAttribute = context.GetEnv("GENERIC_USER_EMAIL_ATTRIBUTE") ?? "email",
                DisplayNameAttribute = context.GetEnv("GENERIC_USER_DISPLAY_NAME_ATTRIBUTE") ?? "name",
                RoleAttribute = context.GetEnv("GENERIC_USER_ROLE_ATTRIBUTE"),
            }
            : provider with { RoleAttribute = context.GetEnv("GENERIC_USER_ROLE_ATTRIBUTE") };
    }

    private static string? EnvPrefix(string kind) => kind switch
    {
        "google" => "GOOGLE",
        "microsoft" => "MICROSOFT",
        "github" => "GITHUB",
        "generic" => "GENERIC",
        _ => null,
    };

    private static string? Url(MapReader r, string key)
    {
        var value = r.String(key);
        if (value is not null && !IsHttpUrl(value))
        {
            r.Convert.Context.Error(r.Node, r.ChildPath(key), $"'{value}' is not an absolute http(s) URL");
            return null;
        }

        return value;
    }

    private static string? EnvUrl(LoadContext context, string name)
    {
        var value = context.GetEnv(name);
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (!IsHttpUrl(value))
        {
            context.Error(null, name, $"'{value}' is not an absolute http(s) URL");
            return null;
        }

        return value;
    }

    private static bool IsHttpUrl(string value) =>
        System.Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == System.Uri.UriSchemeHttps || uri.Scheme == System.Uri.UriSchemeHttp);

    private static Uri? Uri(string? value) => value is null ? null : new Uri(value);

    private static List<string> List(string? value) =>
        (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
