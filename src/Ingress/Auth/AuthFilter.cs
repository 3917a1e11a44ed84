using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Contracts.Identity;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.Ingress.Keys;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// Every route's access check, before anything is queued: <c>allowed_ips</c>; the master key (constant-time); a JWT
/// (<c>enable_jwt_auth</c>); else a virtual key looked up by its SHA-256 through <see cref="IdentityCache"/> — blocked,
/// expiry, routes, models of key/user/team, budgets of key/user/team, <c>enforce_user_param</c>, then
/// rpm/tpm/parallel limits (<see cref="RateLimiter"/>). Sets the <see cref="Caller"/> on the HttpContext.
/// Without a master key the gateway is open (only <c>allowed_ips</c> applies).
/// </summary>
public sealed class AuthFilter(IProxyConfigProvider config, IdentityCache cache, Budgets budgets, RateLimiter limiter, JwtAuthenticator jwt, TimeProvider time) : IEndpointFilter
{
    /// <summary>Broker's own admin routes: the master key (or an admin JWT) only, whatever the config says.</summary>
    private static readonly string[] AdminRoutes = ["/model/list", "/queues", "/cooldowns", "/spend/logs", "/global/spend/report"];

    private static readonly string[] InferenceRoutes =
        ["/chat/completions", "/completions", "/embeddings", "/responses", "/messages", "/models", "/batches", "/files"];

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var http = context.HttpContext;
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
        if (string.IsNullOrEmpty(masterKey) && !general.EnableJwtAuth)
        {
            new AuthContext(true, await AdminCallerAsync(http), null, null, null).AttachTo(http);
            return await next(context);
        }

        var presented = ReadKey(http.Request);
        if (presented is null)
        {
            return AuthErrors.NoKey();
        }

        if (!string.IsNullOrEmpty(masterKey) &&
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(masterKey)))
        {
            new AuthContext(true, await AdminCallerAsync(http), null, null, null).AttachTo(http);
            return await CheckUserParamThenNext(context, next, general, isAdmin: true);
        }

        var route = RoutePath(http.Request);
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
                return await CheckUserParamThenNext(context, next, general, isAdmin: true);
            }

            return await CallerAsync(context, next, current, route, key: null, identity.UserId, identity.TeamId);
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

        return await CallerAsync(context, next, current, route, key, key.UserId, key.TeamId);
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
    /// read its own key info.
    /// </summary>
    private static bool Spends(string method, string route) =>
        HttpMethods.IsPost(method) && !route.Contains("/files", StringComparison.Ordinal) && !route.EndsWith("/cancel", StringComparison.Ordinal);

    /// <summary>
    /// The request path as the route rules see it: lower case, without a trailing slash (ASP.NET routing matches
    /// <c>/Spend/Logs/</c> to <c>/spend/logs</c>, so the rules must too).
    /// </summary>
    private static string RoutePath(HttpRequest request)
    {
        var path = (request.Path.Value ?? "/").ToLowerInvariant();
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    public static bool IsManagementRoute(string route) =>
        route.StartsWith("/key/", StringComparison.Ordinal) || route.StartsWith("/user/", StringComparison.Ordinal) ||
        route.StartsWith("/team/", StringComparison.Ordinal);

    private async ValueTask<object?> CallerAsync(
        EndpointFilterInvocationContext context, EndpointFilterDelegate next, ProxyConfig current, string route, KeyRecord? key, string? userId, string? teamId)
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

        if (RouteRefusal(route, key, general) is { } routeError)
        {
            return routeError;
        }

        JsonObject? body = null;
        if (HttpMethods.IsPost(http.Request.Method) && !IsManagementRoute(route) && IsJson(http.Request))
        {
            body = await PeekBodyAsync(http);
        }

        var model = body?["model"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : null;
        if (model is not null && key is not null && Alias(key, model) is { } target)
        {
            body!["model"] = target;
            ReplaceBody(http, body);
            model = target;
        }

        if (model is not null)
        {
            if (key is not null && !ModelAccess.IsAllowed(current, key.Models, model))
            {
                return AuthErrors.ModelDenied("Key", key.Models, model);
            }

            if (team is not null && !ModelAccess.IsAllowed(current, team.Models, model))
            {
                return AuthErrors.ModelDenied($"Team={team.TeamId}", team.Models, model);
            }

            if (user is not null && !ModelAccess.IsAllowed(current, user.Models, model))
            {
                return AuthErrors.ModelDenied($"User={user.UserId}", user.Models, model);
            }
        }

        // then LiteLLM's proxy-wide budget (litellm_settings.max_budget): every caller but the admin is refused once it is spent
        if (Spends(http.Request.Method, route) &&
            (Budgets.Refusal(key, user, team, now) ?? await budgets.ProxyRefusalAsync(http.RequestAborted)) is { } budgetError)
        {
            return budgetError;
        }

        var endUser = body?["user"] is JsonValue eu && eu.GetValueKind() == JsonValueKind.String ? eu.GetValue<string>() : null;
        if (general.EnforceUserParam && body is not null && endUser is null)
        {
            return AuthErrors.UserParamRequired();
        }

        var tags = body?["metadata"]?["tags"] is JsonArray tagArray
            ? tagArray.Where(t => t is JsonValue v && v.GetValueKind() == JsonValueKind.String).Select(t => t!.GetValue<string>()).ToList()
            : [];
        var caller = new Caller
        {
            KeyHash = key?.TokenHash,
            KeyAlias = key?.KeyAlias,
            UserId = userId,
            TeamId = teamId,
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

        if (!scopes.Any(s => s.HasLimits) || IsManagementRoute(route))
        {
            return await next(context);
        }

        var decision = await limiter.AcquireAsync(scopes);
        foreach (var (name, value) in decision.Headers)
        {
            http.Response.Headers[name] = value;
        }

        if (decision.RefusedMessage is { } refused)
        {
            return AuthErrors.RateLimited(refused, decision.RetryAfterSeconds);
        }

        try
        {
            var result = await next(context);
            if (AnswerTokens.Of(http, (result as JsonTextResult)?.Json) is { } tokens)
            {
                await limiter.AddTokensAsync(scopes, tokens);
            }

            return result;
        }
        finally
        {
            await limiter.ReleaseAsync(decision.Held);
        }
    }

    private static async ValueTask<object?> CheckUserParamThenNext(EndpointFilterInvocationContext context, EndpointFilterDelegate next, GeneralSettings general, bool isAdmin)
    {
        var http = context.HttpContext;
        var route = RoutePath(http.Request);
        if (general.EnforceUserParam && !isAdmin && HttpMethods.IsPost(http.Request.Method) && !IsManagementRoute(route) && IsJson(http.Request) &&
            await PeekBodyAsync(http) is { } body && body["user"] is null)
        {
            return AuthErrors.UserParamRequired();
        }

        return await next(context);
    }

    private static OpenAiErrorResult? RouteRefusal(string route, KeyRecord? key, GeneralSettings general)
    {
        var bare = route.StartsWith("/v1/", StringComparison.Ordinal) ? route[3..] : route;
        if (AdminRoutes.Contains(bare, StringComparer.Ordinal))
        {
            return AuthErrors.RouteDenied(route, "for this key: it is a proxy admin route (use the master key)");
        }

        if (general.AdminOnlyRoutes.Any(r => RouteMatches(r, route, bare)))
        {
            return AuthErrors.RouteDenied(route, "for this key: it is in general_settings.admin_only_routes (proxy admin only)");
        }

        if (general.AllowedRoutes.Count > 0 && !general.AllowedRoutes.Any(r => RouteMatches(r, route, bare)))
        {
            return AuthErrors.RouteDenied(route, "for this key: it is not in general_settings.allowed_routes");
        }

        if (key is { AllowedRoutes.Count: > 0 } && !key.AllowedRoutes.Any(r => RouteMatches(r, route, bare)))
        {
            return AuthErrors.RouteDenied(route, "for this key: it is not in the key's allowed_routes");
        }

        return null;
    }

    private static bool RouteMatches(string rule, string route, string bare)
    {
        // rules are matched like paths: case-insensitively, a trailing slash ignored
        var r = rule.ToLowerInvariant();
        r = r.Length > 1 && !r.EndsWith('*') ? r.TrimEnd('/') : r;
        return r switch
        {
            "openai_routes" or "llm_api_routes" => InferenceRoutes.Any(i => bare.StartsWith(i, StringComparison.Ordinal)),
            "management_routes" => IsManagementRoute(bare),
            "info_routes" => bare is "/key/info" or "/user/info" or "/team/info" or "/models" or "/model/info",
            _ when r.EndsWith('*') => route.StartsWith(r[..^1], StringComparison.Ordinal) || bare.StartsWith(r[..^1], StringComparison.Ordinal),
            _ => string.Equals(r, route, StringComparison.Ordinal) || string.Equals(r, bare, StringComparison.Ordinal) ||
                 string.Equals(r.StartsWith("/v1/", StringComparison.Ordinal) ? r[3..] : r, bare, StringComparison.Ordinal),
        };
    }

    private static string? Alias(KeyRecord key, string model)
    {
        if (key.Aliases is "{}" or "")
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(key.Aliases)?[model] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The master key, an admin JWT and an open gateway have no key, user or team; a request's <c>user</c> is still
    /// recorded as its end user (spend per end user). Null when there is none, as before.
    /// </summary>
    private static async Task<Caller?> AdminCallerAsync(HttpContext http)
    {
        if (!HttpMethods.IsPost(http.Request.Method) || IsManagementRoute(RoutePath(http.Request)) || !IsJson(http.Request) ||
            await PeekBodyAsync(http) is not { } body || body["user"] is not JsonValue user || user.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }

        return new Caller { EndUser = user.GetValue<string>() };
    }

    private static bool IsJson(HttpRequest request) =>
        request.ContentType is null || request.ContentType.Contains("json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the JSON body and rewinds it, so the endpoint reads it again; null when it is not a JSON object.</summary>
    private static async Task<JsonObject?> PeekBodyAsync(HttpContext http)
    {
        http.Request.EnableBuffering();
        var config = http.RequestServices.GetService(typeof(IProxyConfigProvider)) as IProxyConfigProvider;
        var maxBytes = (long)((config?.Current.GeneralSettings.MaxRequestSizeMb ?? 10) * 1024 * 1024);
        var (body, _, _) = await JsonBodyReader.ReadAsync(http.Request, maxBytes, http.RequestAborted);
        http.Request.Body.Position = 0;
        return body;
    }

    private static void ReplaceBody(HttpContext http, JsonObject body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        http.Request.Body = new MemoryStream(bytes);
        http.Request.ContentLength = bytes.Length;
    }
}
