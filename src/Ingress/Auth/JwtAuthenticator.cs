using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Broker.Config;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Ingress.Auth;

/// <summary>
/// <c>enable_jwt_auth</c>: validates a bearer JWT's signature (keys from the JWKS at <c>JWT_PUBLIC_KEY_URL</c> /
/// <c>litellm_jwtauth.public_key_url</c>: one URL or several separated by commas, each a JWKS or an OpenID discovery
/// document whose <c>jwks_uri</c> is followed; or the PEM <c>litellm_jwtauth.public_key</c>), <c>exp</c>/<c>nbf</c>, and
/// <c>aud</c> (<c>JWT_AUDIENCE</c> / <c>litellm_jwtauth.audience</c>) and <c>iss</c> (<c>JWT_ISSUER</c> /
/// <c>litellm_jwtauth.issuer</c>) when set; maps <c>user_id_jwt_field</c> (default <c>sub</c>), <c>team_id_jwt_field</c>
/// (or the first of <c>team_ids_jwt_field</c>) and the admin scope/role (<c>admin_jwt_scope</c>, default
/// <c>litellm_proxy_admin</c>, in <c>scope</c>, in the roles of <c>user_roles_jwt_field</c>/<c>roles_jwt_field</c>, or a
/// role that <c>role_mappings</c> maps to <c>proxy_admin</c>) to the caller. With <c>enforce_rbac: true</c> or
/// <c>user_allowed_roles</c>, a token without a recognised role is refused.
/// </summary>
public sealed class JwtAuthenticator(
    IProxyConfigProvider config, IConfiguration configuration, IHttpClientFactory httpClients, TimeProvider time, ILogger<JwtAuthenticator> logger) : IDisposable
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private List<SecurityKey> _jwksKeys = [];
    private DateTimeOffset _jwksFetchedAt = DateTimeOffset.MinValue;
    private string? _jwksError;

    public bool IsEnabled => config.Current.GeneralSettings.EnableJwtAuth;

    /// <summary>Three base64url parts separated by dots, the first decoding to a JSON header.</summary>
    public static bool LooksLikeJwt(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return !token.StartsWith("sk-", StringComparison.Ordinal) && token.Count(c => c == '.') == 2 && token.StartsWith("ey", StringComparison.Ordinal);
    }

    /// <summary>The identity of a valid token, or the reason it is not valid.</summary>
    public async Task<(JwtIdentity? Identity, string? Error)> ValidateAsync(string token, CancellationToken ct)
    {
        var settings = config.Current.GeneralSettings.LitellmJwtAuth;
        var audience = Setting(settings, "audience") ?? configuration["JWT_AUDIENCE"];
        var issuer = Setting(settings, "issuer") ?? configuration["JWT_ISSUER"];
        var keys = await KeysAsync(settings, ct);
        if (keys.Count == 0)
        {
            return (null, _jwksError is { } why
                ? $"JWT auth is enabled but its signing keys could not be fetched ({why})"
                : "JWT auth is enabled but no signing key is configured (JWT_PUBLIC_KEY_URL or litellm_jwtauth.public_key_url / public_key)");
        }

        var parameters = new TokenValidationParameters
        {
            IssuerSigningKeys = keys,
            ValidateIssuerSigningKey = true,
            ValidateAudience = audience is not null,
            ValidAudience = audience,
            ValidateIssuer = issuer is not null,
            ValidIssuer = issuer,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (notBefore, expires, _, _) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return (notBefore is null || notBefore.Value <= now.AddSeconds(30)) && expires is not null && expires.Value > now.AddSeconds(-30);
            },
        };
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            return (null, "Invalid JWT: " + (result.Exception?.GetType().Name switch
            {
                nameof(SecurityTokenInvalidLifetimeException) or nameof(SecurityTokenExpiredException) => "the token has expired or is not valid yet",
                nameof(SecurityTokenInvalidAudienceException) => "wrong audience",
                nameof(SecurityTokenInvalidIssuerException) => "wrong issuer",
                nameof(SecurityTokenSignatureKeyNotFoundException) or nameof(SecurityTokenInvalidSignatureException) => "the signature does not verify",
                _ => "the token could not be validated",
            }));
        }

        var claims = result.Claims;
        var userField = Setting(settings, "user_id_jwt_field") ?? "sub";
        var teamField = Setting(settings, "team_id_jwt_field");
        var teamsField = Setting(settings, "team_ids_jwt_field");
        var adminScope = Setting(settings, "admin_jwt_scope") ?? "litellm_proxy_admin";
        var scopes = claims.TryGetValue("scope", out var scope) ? (scope?.ToString() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
        var roles = new[] { Setting(settings, "user_roles_jwt_field") ?? "roles", Setting(settings, "roles_jwt_field") }
            .OfType<string>().Distinct(StringComparer.Ordinal)
            .SelectMany(field => claims.TryGetValue(field, out var r) ? Strings(r) : [])
            .ToHashSet(StringComparer.Ordinal);
        var mapped = RoleMappings(settings).Where(m => roles.Contains(m.Role)).Select(m => m.InternalRole).ToHashSet(StringComparer.Ordinal);
        var isAdmin = scopes.Contains(adminScope, StringComparer.Ordinal) || roles.Contains(adminScope) || roles.Contains("proxy_admin") ||
                      mapped.Contains("proxy_admin");
        var allowedRoles = Strings(settings.GetValueOrDefault("user_allowed_roles"));
        var enforceRbac = string.Equals(Setting(settings, "enforce_rbac"), "true", StringComparison.OrdinalIgnoreCase);
        // fail closed: when roles are enforced, a token must carry one the config recognises
        if (!isAdmin && (enforceRbac || allowedRoles.Count > 0) && mapped.Count == 0 && !allowedRoles.Exists(roles.Contains))
        {
            return (null, "the token carries no role this gateway recognises (enforce_rbac / user_allowed_roles / role_mappings)");
        }

        var user = claims.TryGetValue(userField, out var u) ? Strings(u).FirstOrDefault() : null;
        var team = teamField is not null && claims.TryGetValue(teamField, out var t) ? Strings(t).FirstOrDefault()
            : teamsField is not null && claims.TryGetValue(teamsField, out var ts) ? Strings(ts).FirstOrDefault()
            : null;
        return (new JwtIdentity(user, team, isAdmin), null);
    }

    private static IEnumerable<(string Role, string InternalRole)> RoleMappings(IReadOnlyDictionary<string, object?> settings)
    {
        if (settings.GetValueOrDefault("role_mappings") is not IEnumerable<object?> list)
        {
            yield break;
        }

        foreach (var item in list)
        {
            if (item is IReadOnlyDictionary<string, object?> map && Setting(map, "role") is { } role && Setting(map, "internal_role") is { } internalRole)
            {
                yield return (role, internalRole);
            }
        }
    }

    private async Task<IReadOnlyList<SecurityKey>> KeysAsync(IReadOnlyDictionary<string, object?> settings, CancellationToken ct)
    {
        if (Setting(settings, "public_key") is { } pem)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return [new RsaSecurityKey(rsa)];
        }

        var url = Setting(settings, "public_key_url") ?? configuration["JWT_PUBLIC_KEY_URL"];
        if (url is null)
        {
            return [];
        }

        var ttl = TimeSpan.FromSeconds(double.TryParse(Setting(settings, "public_key_ttl"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 600);
        if (_jwksKeys.Count > 0 && time.GetUtcNow() - _jwksFetchedAt < ttl)
        {
            return _jwksKeys;
        }

        await _refresh.WaitAsync(ct);
        try
        {
            if (_jwksKeys.Count > 0 && time.GetUtcNow() - _jwksFetchedAt < ttl)
            {
                return _jwksKeys;
            }

            var keys = new List<SecurityKey>();
            string? error = null;
            foreach (var one in url.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                try
                {
                    keys.AddRange(await FetchKeysAsync(one, ct));
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ArgumentException or UriFormatException or
                                               System.Text.Json.JsonException or InvalidOperationException && !ct.IsCancellationRequested)
                {
                    error = ex is OperationCanceledException ? "no answer within 5 s" : ex.Message;
                    Log.JwksFetchFailed(logger, one, error);
                }
            }

            _jwksError = keys.Count == 0 ? error ?? "no signing key in the key set" : null;
            if (keys.Count > 0)
            {
                _jwksKeys = keys;
                _jwksFetchedAt = time.GetUtcNow();
            }

            // keys fetched before stay in use while the key server is unreachable
            return _jwksKeys;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>The signing keys of a JWKS, or of the <c>jwks_uri</c> an OpenID discovery document names.</summary>
    private async Task<IReadOnlyList<SecurityKey>> FetchKeysAsync(string url, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var client = httpClients.CreateClient(nameof(JwtAuthenticator));
        var json = await client.GetStringAsync(new Uri(url), timeout.Token);
        if (JsonNode.Parse(json) is JsonObject document && document["keys"] is null && document["jwks_uri"]?.GetValue<string>() is { } jwksUri)
        {
            json = await client.GetStringAsync(new Uri(jwksUri), timeout.Token);
        }

        return new JsonWebKeySet(json).GetSigningKeys().ToList();
    }

    public void Dispose() => _refresh.Dispose();

    private static string? Setting(IReadOnlyDictionary<string, object?> settings, string name) =>
        settings.TryGetValue(name, out var value) && value is not null ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

    private static List<string> Strings(object? value) => value switch
    {
        null => [],
        string s => [s],
        IEnumerable<object> list => list.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "").ToList(),
        _ => [Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""],
    };
}
