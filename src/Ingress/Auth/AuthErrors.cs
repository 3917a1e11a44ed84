using System.Globalization;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>The auth filter's refusals, in OpenAI's shape with LiteLLM's wording, type and status.</summary>
public static class AuthErrors
{
    public static OpenAiErrorResult NoKey() => OpenAiErrorResult.Unauthorized(
        "Authentication error: no API key passed in. Send it as 'Authorization: Bearer sk-...' or 'x-api-key'.");

    public static OpenAiErrorResult InvalidKey(string redacted) => OpenAiErrorResult.Unauthorized(
        $"Authentication Error, Invalid proxy server token passed. Received API Key = {redacted}. Unable to find token in cache or the keys table.");

    public static OpenAiErrorResult Blocked(string what) =>
        new(StatusCodes.Status401Unauthorized, $"Authentication Error, {what} is blocked. Ask your proxy admin to unblock it.", "auth_error", null, "401");

    public static OpenAiErrorResult Expired(DateTimeOffset expires, DateTimeOffset now) =>
        new(StatusCodes.Status400BadRequest,
            $"Authentication Error - Expired Key. Key Expiry time {expires.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} and current time {now.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}",
            "expired_key", "key", "400");

    public static OpenAiErrorResult ModelDenied(string entity, IReadOnlyList<string> models, string model) =>
        new(StatusCodes.Status401Unauthorized,
            $"{entity} not allowed to access model. This {entity.Split('=')[0].ToLowerInvariant()} can only access models=[{string.Join(", ", models.Select(m => "'" + m + "'"))}]. Tried to access {model}",
            entity.StartsWith("Team", StringComparison.Ordinal) ? "team_model_access_denied" : "key_model_access_denied", "model", "401");

    public static OpenAiErrorResult Budget(string message) =>
        new(StatusCodes.Status400BadRequest, message, "budget_exceeded", null, "400");

    public static OpenAiErrorResult RouteDenied(string route, string why) =>
        new(StatusCodes.Status403Forbidden, $"Route {route} is not allowed {why}", "auth_error", null, "403");

    /// <summary>A route that declares no access (or is not behind the key check): refused, whoever calls.</summary>
    public static OpenAiErrorResult RouteUndeclared(string route) =>
        new(StatusCodes.Status403Forbidden, $"Route {route} is not allowed: it declares no access rule (fail closed).", "auth_error", null, "route_not_declared");

    /// <summary>An admin-only route called by someone else: 401 in LiteLLM's words for the management routes, else 403.</summary>
    public static OpenAiErrorResult AdminOnly(string route, bool management) => management
        ? new(StatusCodes.Status401Unauthorized, $"Authentication Error - only the proxy admin can call {route}. Use the master key.", "auth_error", null, "401")
        : RouteDenied(route, "for this key: it is a proxy admin route (use the master key)");

    public static OpenAiErrorResult IpDenied(string? address) =>
        new(StatusCodes.Status403Forbidden, $"Access forbidden: IP address {address ?? "unknown"} not allowed.", "auth_error", null, "403");

    public static OpenAiErrorResult UserParamRequired() =>
        new(StatusCodes.Status400BadRequest, "BadRequest please pass param=user in request body. This is a required param", "invalid_request_error", "user", "400");

    public static OpenAiErrorResult ClientTagsRejected(string param) =>
        OpenAiErrorResult.BadRequest(
            $"Client-side '{param}' not allowed in request. 'reject_clientside_metadata_tags'=True. Tags can only be set via API key metadata.", param);

    public static OpenAiErrorResult DatabaseUnavailable() =>
        new(StatusCodes.Status503ServiceUnavailable,
            "Authentication Error: the keys database is unavailable, so this key cannot be checked (general_settings.allow_requests_on_db_unavailable is off, or the key was not seen before). Retry shortly.",
            "service_unavailable", null, "database_unavailable");

    public static OpenAiErrorResult RateLimited(string message, double retryAfter) =>
        new(StatusCodes.Status429TooManyRequests, message, "rate_limit_error", null, "429") { RetryAfterSeconds = retryAfter };

    public static OpenAiErrorResult Jwt(string message) => OpenAiErrorResult.Unauthorized("Authentication Error: " + message);

    public static string Amount(decimal value) => value.ToString("0.0#########", CultureInfo.InvariantCulture);
}
