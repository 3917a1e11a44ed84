using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Ingress.Ui;

/// <summary>
/// The provider side of SSO: OpenID Connect discovery (<c>{issuer}/.well-known/openid-configuration</c>, kept an hour),
/// the code exchange at the token endpoint (with the PKCE verifier), the id_token check (signature by the provider's
/// JWKS, <c>iss</c>, <c>aud</c> = client id, <c>exp</c>/<c>nbf</c>, <c>nonce</c>), and the userinfo or GitHub user API
/// for what the token does not say. Every failure is an <see cref="SsoFailedException"/>.
/// </summary>
public sealed class SsoClient(IHttpClientFactory httpClients, TimeProvider time)
{
    private static readonly TimeSpan DiscoveryTtl = TimeSpan.FromHours(1);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, (JsonObject Document, DateTimeOffset At)> _discovery = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Uri, (IReadOnlyList<SecurityKey> Keys, DateTimeOffset At)> _jwks = new();

    /// <summary>The provider's endpoints: given ones first, the rest from discovery.</summary>
    public async Task<SsoEndpointsSet> EndpointsAsync(SsoProvider provider, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(provider);
        JsonObject? discovery = null;
        if (provider.Issuer is { } issuer && (provider.AuthorizationEndpoint is null || provider.TokenEndpoint is null || provider.JwksUri is null))
        {
            discovery = await DiscoveryAsync(issuer, ct);
        }

        var authorize = provider.AuthorizationEndpoint ?? UriOf(discovery, "authorization_endpoint");
        var token = provider.TokenEndpoint ?? UriOf(discovery, "token_endpoint");
        if (authorize is null || token is null)
        {
            throw new SsoFailedException("sso_provider_unavailable", $"provider {provider.Name} has no authorization or token endpoint");
        }

        return new SsoEndpointsSet(authorize, token, provider.UserinfoEndpoint ?? UriOf(discovery, "userinfo_endpoint"),
            provider.JwksUri ?? UriOf(discovery, "jwks_uri"), (discovery?["issuer"] as JsonValue)?.GetValue<string>() ?? provider.Issuer);
    }

    /// <summary>Exchanges the code (and PKCE verifier) and says who signed in.</summary>
    public async Task<SsoIdentity> SignInAsync(SsoProvider provider, string code, string redirectUri, string? verifier, string nonce, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(provider);
        var endpoints = await EndpointsAsync(provider, ct);
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "authorization_code"),
            new("code", code),
            new("redirect_uri", redirectUri),
            new("client_id", provider.ClientId),
        };
        if (provider.ClientSecret is { } secret)
        {
            form.Add(new("client_secret", secret.Value));
        }

        if (verifier is not null)
        {
            form.Add(new("code_verifier", verifier));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoints.Token) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        var tokens = await SendJsonAsync(request, "sso_token_failed", "the token endpoint", ct);
        if (tokens["error"] is JsonValue error)
        {
            throw new SsoFailedException("sso_token_failed", $"the token endpoint refused the code: {error}");
        }

        var accessToken = (tokens["access_token"] as JsonValue)?.GetValue<string>();
        var idToken = (tokens["id_token"] as JsonValue)?.GetValue<string>();
        if (provider.Kind == SsoProviderKind.GitHub)
        {
            return await GitHubUserAsync(provider, endpoints, accessToken, ct);
        }

        Dictionary<string, object?>? claims = null;
        if (endpoints.JwksUri is not null)
        {
            if (idToken is null)
            {
                throw new SsoFailedException("sso_id_token_invalid", "the token endpoint returned no id_token (is 'openid' in the scope?)");
            }

            claims = await ValidateIdTokenAsync(provider, endpoints, idToken, nonce, ct);
        }

        var info = endpoints.Userinfo is not null && accessToken is not null &&
                   (claims is null || !claims.ContainsKey(provider.EmailAttribute))
            ? await UserinfoAsync(endpoints.Userinfo, accessToken, ct)
            : null;
        if (claims is null && info is null)
        {
            throw new SsoFailedException("sso_id_token_invalid", "neither a checked id_token (no JWKS known) nor a userinfo endpoint says who signed in");
        }

        var idClaim = provider.UserIdAttribute;
        var userId = Text(claims, idClaim) ?? Text(info, idClaim);
        if (claims is not null && info is not null && Text(info, "sub") is { } infoSub && Text(claims, "sub") is { } tokenSub && infoSub != tokenSub)
        {
            throw new SsoFailedException("sso_id_token_invalid", "userinfo names another subject than the id_token");
        }

        if (string.IsNullOrEmpty(userId))
        {
            throw new SsoFailedException("sso_id_token_invalid", $"the provider did not say the user's {idClaim}");
        }

        var email = Text(claims, provider.EmailAttribute) ?? Text(info, provider.EmailAttribute);
        var verified = Value(claims, "email_verified") ?? Value(info, "email_verified");
        // only an address the provider says it verified links to a user or names an admin: a missing claim (Entra ID
        // never sends it) could be any address the signer typed into their own tenant
        if (!(verified is true || (verified is string v && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase))))
        {
            email = null;
        }

        var roles = provider.RoleAttribute is { } roleClaim ? Strings(Value(claims, roleClaim) ?? Value(info, roleClaim)) : [];
        return new SsoIdentity(userId, email, Text(claims, provider.DisplayNameAttribute) ?? Text(info, provider.DisplayNameAttribute), roles);
    }

    private async Task<Dictionary<string, object?>> ValidateIdTokenAsync(
        SsoProvider provider, SsoEndpointsSet endpoints, string idToken, string nonce, CancellationToken ct)
    {
        var handler = new JsonWebTokenHandler();
        string? expectedIssuer = endpoints.Issuer;
        if (expectedIssuer is not null && expectedIssuer.Contains("{tenantid}", StringComparison.Ordinal))
        {
            // Microsoft's multi-tenant discovery names the issuer per tenant: the token's own tid fills it in
            var tid = handler.CanReadToken(idToken) && handler.ReadJsonWebToken(idToken).TryGetPayloadValue<string>("tid", out var t) ? t : "";
            expectedIssuer = expectedIssuer.Replace("{tenantid}", tid, StringComparison.Ordinal);
        }

        TokenValidationResult? result = null;
        foreach (var refresh in new[] { false, true })
        {
            var keys = await KeysAsync(endpoints.JwksUri!, refresh, ct);
            result = await handler.ValidateTokenAsync(idToken, new TokenValidationParameters
            {
                IssuerSigningKeys = keys,
                ValidateIssuerSigningKey = true,
                RequireSignedTokens = true,
                ValidateIssuer = expectedIssuer is not null,
                ValidIssuer = expectedIssuer,
                ValidateAudience = true,
                ValidAudience = provider.ClientId,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                LifetimeValidator = (notBefore, expires, _, _) =>
                {
                    var now = time.GetUtcNow().UtcDateTime;
                    return (notBefore is null || notBefore.Value <= now + Skew) && expires is not null && expires.Value > now - Skew;
                },
            });
            // a key the provider rotated in since we read its JWKS: read it once more
            if (result.IsValid || result.Exception is not SecurityTokenSignatureKeyNotFoundException)
            {
                break;
            }
        }

        if (!result!.IsValid)
        {
            throw new SsoFailedException("sso_id_token_invalid", "the id_token does not verify: " + (result.Exception?.GetType().Name switch
            {
                nameof(SecurityTokenInvalidLifetimeException) or nameof(SecurityTokenExpiredException) => "it has expired or is not valid yet",
                nameof(SecurityTokenInvalidAudienceException) => "it was issued to another client",
                nameof(SecurityTokenInvalidIssuerException) => "it comes from another issuer",
                nameof(SecurityTokenSignatureKeyNotFoundException) or nameof(SecurityTokenInvalidSignatureException) => "the signature does not verify",
                _ => "it could not be validated",
            }));
        }

        var claims = new Dictionary<string, object?>(result.Claims, StringComparer.Ordinal);
        if (Text(claims, "nonce") != nonce)
        {
            throw new SsoFailedException("sso_id_token_invalid", "the id_token's nonce is not the one this sign-in sent");
        }

        return claims;
    }

    private async Task<SsoIdentity> GitHubUserAsync(SsoProvider provider, SsoEndpointsSet endpoints, string? accessToken, CancellationToken ct)
    {
        if (accessToken is null || endpoints.Userinfo is null)
        {
            throw new SsoFailedException("sso_token_failed", "GitHub returned no access token");
        }

        var user = await UserinfoAsync(endpoints.Userinfo, accessToken, ct);
        var id = user["id"]?.ToString();
        if (string.IsNullOrEmpty(id))
        {
            throw new SsoFailedException("sso_token_failed", "GitHub's user API did not say the user's id");
        }

        var email = (user["email"] as JsonValue)?.GetValue<string>();
        // GitHub's own e-mail field is the public one: the verified primary address is at /user/emails
        var emails = await GetJsonNodeAsync(new Uri(endpoints.Userinfo.AbsoluteUri.TrimEnd('/') + "/emails"), accessToken, ct) as JsonArray;
        var primary = emails?.OfType<JsonObject>().FirstOrDefault(e => e["primary"] is JsonValue p && p.GetValueKind() == JsonValueKind.True &&
                                                                      e["verified"] is JsonValue ve && ve.GetValueKind() == JsonValueKind.True);
        email = (primary?["email"] as JsonValue)?.GetValue<string>() ?? (emails is null ? email : null);
        var name = (user["name"] as JsonValue)?.GetValue<string>() ?? (user["login"] as JsonValue)?.GetValue<string>();
        return new SsoIdentity(id, email, name, provider.RoleAttribute is { } r ? Strings(user[r]?.ToString()) : []);
    }

    private async Task<JsonObject> UserinfoAsync(Uri endpoint, string accessToken, CancellationToken ct) =>
        await GetJsonNodeAsync(endpoint, accessToken, ct) as JsonObject ??
        throw new SsoFailedException("sso_token_failed", "the userinfo endpoint did not answer a JSON object");

    private async Task<JsonNode?> GetJsonNodeAsync(Uri endpoint, string accessToken, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, endpoint);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("Broker", "1.0"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            using var response = await httpClients.CreateClient(nameof(SsoClient)).SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new SsoFailedException("sso_token_failed", $"{endpoint.AbsolutePath} answered {(int)response.StatusCode}");
            }

            return JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token));
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new SsoFailedException("sso_provider_unavailable", $"{endpoint.GetLeftPart(UriPartial.Path)} could not be read: {e.GetType().Name}");
        }
    }

    private async Task<JsonObject> SendJsonAsync(HttpRequestMessage request, string code, string what, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            using var response = await httpClients.CreateClient(nameof(SsoClient)).SendAsync(request, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            var json = JsonNode.Parse(text) as JsonObject;
            if (!response.IsSuccessStatusCode || json is null)
            {
                var error = (json?["error"] as JsonValue)?.ToString() ?? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
                throw new SsoFailedException(code, $"{what} answered {(int)response.StatusCode} ({error})");
            }

            return json;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new SsoFailedException("sso_provider_unavailable", $"{what} could not be reached: {e.GetType().Name}");
        }
    }

    private async Task<JsonObject> DiscoveryAsync(string issuer, CancellationToken ct)
    {
        if (_discovery.TryGetValue(issuer, out var cached) && time.GetUtcNow() - cached.At < DiscoveryTtl)
        {
            return cached.Document;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(issuer.TrimEnd('/') + "/.well-known/openid-configuration"));
        var document = await SendJsonAsync(request, "sso_provider_unavailable", "the provider's discovery document", ct);
        _discovery[issuer] = (document, time.GetUtcNow());
        return document;
    }

    private async Task<IReadOnlyList<SecurityKey>> KeysAsync(Uri jwksUri, bool refresh, CancellationToken ct)
    {
        if (!refresh && _jwks.TryGetValue(jwksUri, out var cached) && time.GetUtcNow() - cached.At < DiscoveryTtl)
        {
            return cached.Keys;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, jwksUri);
        var json = await SendJsonAsync(request, "sso_provider_unavailable", "the provider's JWKS", ct);
        IReadOnlyList<SecurityKey> keys;
        try
        {
            keys = new JsonWebKeySet(json.ToJsonString()).GetSigningKeys().ToList();
        }
        catch (ArgumentException)
        {
            throw new SsoFailedException("sso_provider_unavailable", "the provider's JWKS could not be read");
        }

        _jwks[jwksUri] = (keys, time.GetUtcNow());
        return keys;
    }

    private static Uri? UriOf(JsonObject? document, string name) =>
        document?[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String && Uri.TryCreate(v.GetValue<string>(), UriKind.Absolute, out var uri) ? uri : null;

    private static object? Value(IReadOnlyDictionary<string, object?>? claims, string name) =>
        claims is not null && claims.TryGetValue(name, out var value) ? value : null;

    private static object? Value(JsonObject? json, string name) => json?[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
        JsonArray a => a.Select(i => i?.ToString() ?? "").ToList(),
        var other => other.ToString(),
    };

    private static string? Text(IReadOnlyDictionary<string, object?>? claims, string name) =>
        Value(claims, name) is { } value ? Convert.ToString(value, CultureInfo.InvariantCulture) : null;

    private static string? Text(JsonObject? json, string name) => Value(json, name) switch
    {
        null => null,
        string s => s,
        var other => Convert.ToString(other, CultureInfo.InvariantCulture),
    };

    private static List<string> Strings(object? value) => value switch
    {
        null => [],
        string s => s.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries).ToList(),
        IEnumerable<object> list => list.Select(o => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "").ToList(),
        _ => [Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""],
    };
}
