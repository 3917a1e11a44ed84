using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Identity;
using Broker.Ingress.Http;
using Broker.Ingress.Keys;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Auth;

/// <summary>
/// Every route's access check, before anything is queued: <c>allowed_ips</c>; the master key (constant-time); a JWT
/// (<c>enable_jwt_auth</c>); else a virtual key looked up by its SHA-256 through <see cref="IdentityCache"/> — blocked,
/// expiry, routes, models of key/user/team, budgets of key/user/team, <c>enforce_user_param</c>, then
/// rpm/tpm/parallel limits, budgets and tpm held as reservations (<see cref="Budgets.AdmitAsync"/>). Sets the <see cref="Caller"/> on the HttpContext.
/// Who may call a route is what the route declares (<see cref="RouteAccess"/>) and the configured rules
/// (<see cref="RouteRules"/>); a route that declares nothing is refused. The body is parsed once (<see cref="RequestBody"/>, whatever its Content-Type) and the model check
/// (<see cref="ModelAuthorizer"/>) is made on the object the endpoint then runs.
/// Without a master key the gateway is open (only <c>allowed_ips</c> applies).
/// </summary>
public sealed class AuthFilter(
    IProxyConfigProvider config, IdentityCache cache, Budgets budgets, JwtAuthenticator jwt, ModelAuthorizer models, TimeProvider time,
    ILogger<AuthFilter> logger, CustomAuthClient customAuth) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
        var access = RouteAccess.Of(http.GetEndpoint());
        if (access is null)
        {
            // fail closed: a route nobody declared an access rule for is served to nobody
            Log.RouteUndeclared(logger, http.Request.Method, http.Request.Path.Value ?? "/");
            return AuthErrors.RouteUndeclared(http.Request.Path.Value ?? "/");
        }

        var current = config.Current;
        var general = current.GeneralSettings;
        if (general.AllowedIps.Count > 0)
        {
            var address = ClientAddress.Of(http, general);
            if (address is null || !ClientAddress.Matches(general.AllowedIps, address))
            {
                return AuthErrors.IpDenied(address?.ToString());
            }
        }

        var masterKey = general.MasterKey?.Value;
        if (access == RouteAccessLevel.Open || (string.IsNullOrEmpty(masterKey) && !general.EnableJwtAuth && general.CustomAuthHook is null))
        {
            new AuthContext(true, await AdminCallerAsync(http), null, null, null).AttachTo(http);
            return await next(context);
        }

        var presented = ReadKey(http.Request);
        if (presented is null)
        {
            // the admin UI session of a user signed in by SSO: that user's records and limits, with no key
            return Ui.UiCookieAuth.SsoUserOf(http) is { } ssoUser
                ? await CallerAsync(context, next, current, RouteRules.PathOf(http.Request), access.Value, key: null, ssoUser, teamId: null)
                : AuthErrors.NoKey();
        }

        if (!string.IsNullOrEmpty(masterKey) &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(masterKey)))
        {
            new AuthContext(true, await AdminCallerAsync(http), null, null, null).AttachTo(http);
            return await next(context);
        }

        var route = RouteRules.PathOf(http.Request);
        if (general.CustomAuthHook is { } hook)
        {
            // custom_auth: the hook decides who any key but the master key is; its answer is enforced like a stored key
            var (hooked, refusal) = await customAuth.CheckAsync(hook, http, presented, http.RequestAborted);
            return refusal ?? await CallerAsync(context, next, current, route, access.Value, hooked, hooked!.UserId, hooked.TeamId);
        }

        if (general.EnableJwtAuth && JwtAuthenticator.LooksLikeJwt(presented))
        {
            var (identity, error) = await jwt.ValidateAsync(presented, http.RequestAborted);
            if (identity is null)
            {
                return AuthErrors.Jwt(error!);
            }

            if (identity.IsAdmin)
            {
                new AuthContext(true, await AdminCallerAsync(http), null, null, null).AttachTo(http);
                return await next(context);
            }

            var teamId = identity.TeamId;
            foreach (var candidate in identity.TeamCandidates)
            {
                var found = await cache.GetTeamAsync(candidate, http.RequestAborted);
                if (found.DatabaseDown && !general.AllowRequestsOnDbUnavailable)
                {
                    return AuthErrors.DatabaseUnavailable();
                }

                if (found.Record is not null)
                {
                    teamId = candidate;
                    break;
                }
            }

            // fail closed: a token whose teams are all unknown here is not a caller without a team
            if (teamId is null && identity.TeamCandidates.Count > 0)
            {
                return AuthErrors.Jwt($"none of the teams in the token's '{identity.TeamCandidatesClaim}' claim is a team of this gateway");
            }

            return await CallerAsync(context, next, current, route, access.Value, key: null, identity.UserId, teamId);
        }

        if (!cache.IsConfigured)
        {
            return AuthErrors.InvalidKey(Secret.Redact(presented));
        }

        var lookup = await cache.GetKeyAsync(HashKey(presented), http.RequestAborted);
        if (lookup.DatabaseDown && (lookup.Record is null || !general.AllowRequestsOnDbUnavailable))
        {
            return AuthErrors.DatabaseUnavailable();
        }

        if (lookup.Record is not { } key)
        {
            return AuthErrors.InvalidKey(Secret.Redact(presented));
        }

        return await CallerAsync(context, next, current, route, access.Value, key, key.UserId, key.TeamId);
    }

    /// <summary>SHA-256 of the key, lowercase hex: the only form a key is stored or cached in.</summary>
    public static string HashKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    public static string? ReadKey(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization["Bearer ".Length..].Trim();
            return token.Length == 0 ? null : token;
        }

        foreach (var header in new[] { "x-api-key", "api-key", "x-litellm-api-key" })
        {
            var value = request.Headers[header].ToString().Trim();
            if (value.Length > 0)
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>
    /// Requests that budgets hold back: every POST (inference, batch creation, making keys) but file uploads and batch
    /// cancels. A key over its budget can still read its batches and files (to collect results), cancel a batch and
    /// read its own key info. A route that declares it spends on every method (<see cref="SpendingRoute"/>) is always held back.
    /// </summary>
    private static bool Spends(HttpContext http, string route) => SpendingRoute.IsDeclared(http) ||
        (HttpMethods.IsPost(http.Request.Method) && !route.Contains("/files", StringComparison.Ordinal) && !route.EndsWith("/cancel", StringComparison.Ordinal));

    private async ValueTask<object?> CallerAsync(
        EndpointFilterInvocationContext context, EndpointFilterDelegate next, ProxyConfig current, string route, RouteAccessLevel access, KeyRecord? key,
        string? userId, string? teamId)
    {
        var http = context.HttpContext;
        var general = current.GeneralSettings;
        var now = time.GetUtcNow();
        if (key is not null)
        {
            if (key.Blocked)
            {
                return AuthErrors.Blocked("this key");
            }

            if (key.Expires is { } expires && expires <= now)
            {
                return AuthErrors.Expired(expires, now);
            }
        }

        UserRecord? user = null;
        if (userId is not null)
        {
            var found = await cache.GetUserAsync(userId, http.RequestAborted);
            if (found.DatabaseDown && !general.AllowRequestsOnDbUnavailable)
            {
                return AuthErrors.DatabaseUnavailable();
            }

            user = found.Record;
        }

        TeamRecord? team = null;
        if (teamId is not null)
        {
            var found = await cache.GetTeamAsync(teamId, http.RequestAborted);
            if (found.DatabaseDown && !general.AllowRequestsOnDbUnavailable)
            {
                return AuthErrors.DatabaseUnavailable();
            }

            team = found.Record;
            if (team is { Blocked: true })
            {
                return AuthErrors.Blocked($"team {teamId}");
            }
        }

        if (RouteRules.Refusal(http.Request.Path.Value ?? route, route, access, key, general) is { } routeError)
        {
            return routeError;
        }

        var request = await InferenceBodyAsync(http, route);
        var body = request?.Json;
        var model = body?["model"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null;
        if (model is not null)
        {
            var scope = new ModelScope(key, user, team);
            var target = scope.Alias(model);
            if (target is not null)
            {
                body!["model"] = target;
                model = target;
            }

            // the model, then every fallback it could reach: an outside fallback is taken out of the body (and logged)
            var (modelError, narrowed) = models.Authorize(current, scope, body!, model);
            if (modelError is not null)
            {
                return modelError;
            }

            if (target is not null || narrowed)
            {
                request!.Changed();
            }
        }

        // then LiteLLM's proxy-wide budget (litellm_settings.max_budget): every caller but the admin is refused once it is spent
        if (Spends(http, route) &&
            (Budgets.Refusal(key, user, team, now) ?? await budgets.ProxyRefusalAsync(http.RequestAborted)) is { } budgetError)
        {
            return budgetError;
        }

        var endUser = EndUserOf(body);
        if (general.EnforceUserParam && body is not null && endUser is null)
        {
            return AuthErrors.UserParamRequired();
        }

        if (general.RejectClientsideMetadataTags && RequestTags.ClientSide(body) is { } clientTags)
        {
            return AuthErrors.ClientTagsRejected(clientTags);
        }

        var tags = RequestTags.Of(body, key, team);
        var caller = new Caller
        {
            KeyHash = key?.TokenHash,
            KeyAlias = key?.KeyAlias,
            UserId = userId,
            TeamId = teamId,
            TeamAlias = team?.TeamAlias,
            EndUser = endUser,
            Tags = tags,
        };
        new AuthContext(false, caller, key, user, team).AttachTo(http);

        var scopes = new List<LimitScope>();
        if (key is not null)
        {
            scopes.Add(new LimitScope("key", key.TokenHash, key.RpmLimit, key.TpmLimit, key.MaxParallelRequests));
        }

        if (user is not null)
        {
            scopes.Add(new LimitScope("user", user.UserId, user.RpmLimit, user.TpmLimit, user.MaxParallelRequests));
        }

        if (team is not null)
        {
            scopes.Add(new LimitScope("team", team.TeamId, team.RpmLimit, team.TpmLimit, team.MaxParallelRequests));
        }

        // budgets and limits are reservations: the estimate is held before queueing and settled with the answer (Budgets.AdmitAsync)
        await using var admission = await budgets.AdmitAsync(http, body, key, user, team, RouteRules.IsManagementRoute(route) ? [] : scopes, Spends(http, route));
        if (admission.Refusal is { } refused)
        {
            return refused;
        }

        var result = await next(context);
        await admission.SettleAsync(http, result);
        return result;
    }

    /// <summary>
    /// The master key, an admin JWT and an open gateway have no key, user or team; a request's <c>user</c> is still
    /// recorded as its end user (spend per end user). Null when there is none, as before.
    /// </summary>
    private async Task<Caller?> AdminCallerAsync(HttpContext http) =>
        EndUserOf((await InferenceBodyAsync(http, RouteRules.PathOf(http.Request)))?.Json) is { } endUser ? new Caller { EndUser = endUser } : null;

    /// <summary>
    /// The body as the endpoint will run it, parsed once whatever the Content-Type; null for requests that carry no
    /// request body to check (not a POST, a management route, a multipart upload that reads its own).
    /// </summary>
    private async Task<RequestBody?> InferenceBodyAsync(HttpContext http, string route) =>
        HttpMethods.IsPost(http.Request.Method) && !RouteRules.IsManagementRoute(route) &&
        http.GetEndpoint()?.Metadata.GetMetadata<BodyFormat>() is not { Json: false }
            ? await RequestBody.ReadAsync(http, config)
            : null;

    private static string? EndUserOf(JsonObject? body) =>
        body?["user"] is JsonValue user && user.GetValueKind() == JsonValueKind.String ? user.GetValue<string>() : null;
}
