using System.Globalization;
using System.Security.Cryptography;
using Broker.Config;
using Microsoft.Extensions.Configuration;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Ingress.Auth;

/// <summary>
/// <c>enable_jwt_auth</c>: validates a bearer JWT's signature (keys from the JWKS at <c>JWT_PUBLIC_KEY_URL</c> /
/// <c>litellm_jwtauth.public_key_url</c>, or the PEM <c>litellm_jwtauth.public_key</c>), <c>exp</c>/<c>nbf</c>, and
/// <c>aud</c> (<c>JWT_AUDIENCE</c> / <c>litellm_jwtauth.audience</c>) and <c>iss</c> (<c>JWT_ISSUER</c> /
/// <c>litellm_jwtauth.issuer</c>) when set; maps <c>user_id_jwt_field</c> (default <c>sub</c>), <c>team_id_jwt_field</c>
/// and the admin scope/role (<c>admin_jwt_scope</c>, default <c>litellm_proxy_admin</c>, in <c>scope</c> or
/// <c>user_roles_jwt_field</c>) to the caller.
/// </summary>
public sealed class JwtAuthenticator(IProxyConfigProvider config, IConfiguration configuration, IHttpClientFactory httpClients, TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private List<SecurityKey> _jwksKeys = [];
    private DateTimeOffset _jwksFetchedAt = DateTimeOffset.MinValue;

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
            return (null, "JWT auth is enabled but no signing key is configured (JWT_PUBLIC_KEY_URL or litellm_jwtauth.public_key_url / public_key)");
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
        var rolesField = Setting(settings, "user_roles_jwt_field") ?? "roles";
        var adminScope = Setting(settings, "admin_jwt_scope") ?? "litellm_proxy_admin";
        var scopes = claims.TryGetValue("scope", out var scope) ? (scope?.ToString() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
        var roles = claims.TryGetValue(rolesField, out var r) ? Strings(r) : [];
        var isAdmin = scopes.Contains(adminScope, StringComparer.Ordinal) || roles.Contains(adminScope, StringComparer.Ordinal) ||
                      roles.Contains("proxy_admin", StringComparer.Ordinal);
        var user = claims.TryGetValue(userField, out var u) ? Strings(u).FirstOrDefault() : null;
        var team = teamField is not null && claims.TryGetValue(teamField, out var t) ? Strings(t).FirstOrDefault() : null;
        return (new JwtIdentity(user, team, isAdmin), null);
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

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var json = await httpClients.CreateClient(nameof(JwtAuthenticator)).GetStringAsync(new Uri(url), timeout.Token);
            _jwksKeys = new JsonWebKeySet(json).GetSigningKeys().ToList();
            _jwksFetchedAt = time.GetUtcNow();
            return _jwksKeys;
        }
        catch (Exception ex) when ((ex is HttpRequestException or OperationCanceledException or ArgumentException) && !ct.IsCancellationRequested)
        {
            return _jwksKeys;
        }
        finally
        {
            _refresh.Release();
        }
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
