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
    /// <summary>After a failed fetch, a key URL is not asked again for this long (its last good keys stay in use).</summary>
    private static readonly TimeSpan FailureBackoff = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _refresh = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, UrlKeys> _byUrl = new(StringComparer.Ordinal);

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
        var (keys, fetchFailed) = await KeysAsync(settings, ct);
        if (keys.Count == 0)
        {
            // the reason is in the gateway's log, not told to a caller who is not authenticated yet
            return (null, fetchFailed
                ? "JWT auth is enabled but its signing keys could not be fetched (the gateway's log says why)"
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
        var userRoles = ClaimValues(claims, Setting(settings, "user_roles_jwt_field") ?? "roles");
        var mappedRoles = ClaimValues(claims, Setting(settings, "roles_jwt_field") ?? Setting(settings, "user_roles_jwt_field") ?? "roles");
        var mappings = RoleMappings(settings).ToList();
        var mapped = mappings.Where(m => mappedRoles.Contains(m.Role)).Select(m => m.InternalRole).ToHashSet(StringComparer.Ordinal);
        // with role_mappings, a role is only what a mapping makes it: a group that happens to be called proxy_admin is not
        var isAdmin = scopes.Contains(adminScope, StringComparer.Ordinal) || mapped.Contains("proxy_admin") ||
                      (mappings.Count == 0 && (userRoles.Contains(adminScope) || userRoles.Contains("proxy_admin")));
        var allowedRoles = Strings(settings.GetValueOrDefault("user_allowed_roles"));
        // fail closed: user_allowed_roles is a strict allow-list, and enforce_rbac wants a role the config recognises
        if (!isAdmin && allowedRoles.Count > 0 && !allowedRoles.Exists(userRoles.Contains))
        {
            return (null, "the token carries none of the roles user_allowed_roles allows");
        }

        if (!isAdmin && settings.GetValueOrDefault("enforce_rbac") is true && mapped.Count == 0 && allowedRoles.Count == 0)
        {
            return (null, "the token carries no role this gateway recognises (enforce_rbac with role_mappings / user_allowed_roles)");
        }

        var user = claims.TryGetValue(userField, out var u) ? Strings(u).FirstOrDefault() : null;
        var team = teamField is not null && claims.TryGetValue(teamField, out var t) ? Strings(t).FirstOrDefault() : null;
        // team_ids_jwt_field names candidates: the caller's team is the first one this gateway knows (AuthFilter)
        var candidates = team is null && teamsField is not null && claims.TryGetValue(teamsField, out var ts) ? Strings(ts) : [];
        return (new JwtIdentity(user, team, isAdmin) { TeamCandidates = candidates, TeamCandidatesClaim = teamsField }, null);
    }

    private static HashSet<string> ClaimValues(IDictionary<string, object> claims, string field) =>
        claims.TryGetValue(field, out var value) ? Strings(value).ToHashSet(StringComparer.Ordinal) : [];

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

    /// <summary>
    /// The signing keys: the PEM's, or those of every configured key URL (each cached for <c>public_key_ttl</c>; a URL
    /// whose fetch fails keeps its last good keys and is not asked again for <see cref="FailureBackoff"/>). FetchFailed
    /// when some URL has no keys because its fetch failed.
    /// </summary>
    private async Task<(IReadOnlyList<SecurityKey> Keys, bool FetchFailed)> KeysAsync(IReadOnlyDictionary<string, object?> settings, CancellationToken ct)
    {
        if (Setting(settings, "public_key") is { } pem)
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return ([new RsaSecurityKey(rsa)], false);
        }

        var urls = (Setting(settings, "public_key_url") ?? configuration["JWT_PUBLIC_KEY_URL"] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (urls.Length == 0)
        {
            return ([], false);
        }

        var ttl = TimeSpan.FromSeconds(double.TryParse(Setting(settings, "public_key_ttl"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 600);
        var now = time.GetUtcNow();
        bool Due(string url) => !_byUrl.TryGetValue(url, out var known) ||
            (known.FailedAt is { } failed ? now - failed >= FailureBackoff : now - known.FetchedAt >= ttl);

        // a refresh under way elsewhere does not hold this request up when keys are at hand
        if (urls.Any(Due) && (await _refresh.WaitAsync(urls.Any(u => _byUrl.ContainsKey(u)) ? TimeSpan.Zero : Timeout.InfiniteTimeSpan, ct)))
        {
            try
            {
                foreach (var url in urls.Where(Due))
                {
                    var known = _byUrl.GetValueOrDefault(url);
                    try
                    {
                        _byUrl[url] = new UrlKeys(await FetchKeysAsync(url, ct), time.GetUtcNow(), null);
                    }
                    catch (Exception ex) when (!ct.IsCancellationRequested && ex is HttpRequestException or OperationCanceledException or ArgumentException or
                                                   FormatException or NotSupportedException or InvalidOperationException or System.Text.Json.JsonException)
                    {
                        Log.JwksFetchFailed(logger, url, ex is OperationCanceledException ? "no answer within 5 s" : ex.Message);
                        _byUrl[url] = new UrlKeys(known?.Keys ?? [], known?.FetchedAt ?? DateTimeOffset.MinValue, time.GetUtcNow());
                    }
                }
            }
            finally
            {
                _refresh.Release();
            }
        }

        // only the URLs configured now: a key server removed from the config no longer signs anything
        var keys = urls.SelectMany(u => _byUrl.TryGetValue(u, out var k) ? k.Keys : []).ToList();
        return (keys, urls.Any(u => _byUrl.TryGetValue(u, out var k) && k.FailedAt is not null && k.Keys.Count == 0));
    }

    /// <summary>The signing keys of a JWKS, or of the <c>jwks_uri</c> an OpenID discovery document names.</summary>
    private async Task<IReadOnlyList<SecurityKey>> FetchKeysAsync(string url, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var client = httpClients.CreateClient(nameof(JwtAuthenticator));
        var address = HttpAddress(url, null);
        var json = await client.GetStringAsync(address, timeout.Token);
        if (JsonNode.Parse(json) is JsonObject document && document["keys"] is null && document["jwks_uri"]?.GetValue<string>() is { } jwksUri)
        {
            // the keys must come over https (or from this machine), as OpenID libraries require: an http jwks_uri would
            // let anyone on the network hand over signing keys of their own
            var keysAddress = HttpAddress(jwksUri, address);
            if (keysAddress.Scheme != Uri.UriSchemeHttps && !keysAddress.IsLoopback)
            {
                throw new InvalidOperationException($"the discovery document's jwks_uri {keysAddress} is not https");
            }

            json = await client.GetStringAsync(keysAddress, timeout.Token);
        }

        return new JsonWebKeySet(json).GetSigningKeys().ToList();
    }

    /// <summary>An absolute http(s) address (a relative one resolved against <paramref name="relativeTo"/>), else FormatException.</summary>
    private static Uri HttpAddress(string text, Uri? relativeTo)
    {
        var address = relativeTo is not null && Uri.TryCreate(relativeTo, text, out var resolved) && !text.Contains("://", StringComparison.Ordinal) && !text.StartsWith("file:", StringComparison.Ordinal)
            ? resolved
            : Uri.TryCreate(text, UriKind.Absolute, out var absolute) ? absolute : null;
        return address is { Scheme: "http" or "https" } ? address : throw new FormatException($"'{text}' is not an http(s) address");
    }

    private sealed record UrlKeys(IReadOnlyList<SecurityKey> Keys, DateTimeOffset FetchedAt, DateTimeOffset? FailedAt);

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
