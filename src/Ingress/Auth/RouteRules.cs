using Broker.Config.Model;
using Broker.Ingress.Errors;
using Broker.Ingress.Keys;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// Which routes a caller that is not the proxy admin may call: what the route declares (<see cref="RouteAccess"/>), and
/// LiteLLM's configured rules (<c>general_settings.admin_only_routes</c>, <c>allowed_routes</c>, a key's
/// <c>allowed_routes</c>, with the names <c>openai_routes</c>, <c>llm_api_routes</c>, <c>management_routes</c>,
/// <c>info_routes</c> and <c>/prefix*</c> patterns).
/// </summary>
public static class RouteRules
{
    private static readonly string[] InferenceRoutes =
        ["/chat/completions", "/completions", "/embeddings", "/responses", "/messages", "/models", "/batches", "/files"];

    /// <summary>
    /// The request path as the route rules see it: lower case, without a trailing slash (ASP.NET routing matches
    /// <c>/Spend/Logs/</c> to <c>/spend/logs</c>, so the rules must too).
    /// </summary>
    public static string PathOf(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = (request.Path.Value ?? "/").ToLowerInvariant();
        return path.Length > 1 ? path.TrimEnd('/') : path;
    }

    public static bool IsManagementRoute(string route) =>
        route.StartsWith("/key/", StringComparison.Ordinal) || route.StartsWith("/user/", StringComparison.Ordinal) ||
        route.StartsWith("/team/", StringComparison.Ordinal);

    /// <summary>
    /// Null when a caller other than the proxy admin may call <paramref name="route"/>: the route's own declaration
    /// (<paramref name="access"/>), then general_settings.admin_only_routes and allowed_routes, then the key's allowed_routes.
    /// </summary>
    public static OpenAiErrorResult? Refusal(string path, string route, RouteAccessLevel access, KeyRecord? key, GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(general);
        if (access == RouteAccessLevel.AdminOnly)
        {
            return AuthErrors.AdminOnly(path, IsManagementRoute(route));
        }

        var bare = route.StartsWith("/v1/", StringComparison.Ordinal) ? route[3..] : route;
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
}
