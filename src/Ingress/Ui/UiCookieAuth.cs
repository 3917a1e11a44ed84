using System.Security.Cryptography;
using System.Text;
using Broker.Config;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Ui;

/// <summary>
/// The admin UI's session cookie as an alternative to the Bearer key, on the public admin routes the UI calls (and
/// only those: never on inference routes). A request that carries its own key (Authorization, x-api-key, ...) is left
/// as it is. Otherwise an open, unexpired session's key is handed to the ordinary key check (<see cref="AuthFilter"/>)
/// as the request's Bearer key, so the cookie can do exactly what that key can. Every change (any method but GET,
/// HEAD, OPTIONS) must echo the session's CSRF token in <c>X-CSRF-Token</c> and, when the browser names an
/// <c>Origin</c>, come from this origin (as the browser sees it: <see cref="UiTransport"/>); else it is refused with 403
/// before it runs. A user signed in by SSO has no key: the key check takes the session's user (<see cref="SsoUserOf"/>).
/// </summary>
public static class UiCookieAuth
{
    public const string CookieName = "broker_ui_session";
    public const string CsrfHeader = "X-CSRF-Token";

    private static readonly object SsoUserItem = new();

    private static readonly string[] AdminRoutePrefixes =
    [
        "/key/", "/team/", "/user/", "/global/spend/", "/spend/", "/queues", "/models", "/model/", "/batches", "/files",
        "/request/", "/health", "/cooldowns",
    ];

    /// <summary>True for the admin routes the UI may call with its cookie (with or without the <c>/v1</c> prefix).</summary>
    public static bool IsUiApiRoute(PathString path)
    {
        var value = path.Value ?? "";
        if (value.StartsWith("/v1/", StringComparison.Ordinal))
        {
            value = value[3..];
        }

        foreach (var prefix in AdminRoutePrefixes)
        {
            // whole path segments only: /healthz or /files-api (which a pass-through endpoint may take) are not /health or /files
            var family = prefix.TrimEnd('/');
            if (value == family || value.StartsWith(family + "/", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public static Task AttachAsync(HttpContext http, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(next);
        var request = http.Request;
        if (!request.Cookies.TryGetValue(CookieName, out var cookie) || !IsUiApiRoute(request.Path) || AuthFilter.ReadKey(request) is not null)
        {
            return next(http);
        }

        var protector = http.RequestServices.GetService(typeof(UiSessionProtector)) as UiSessionProtector;
        if (protector?.Open(cookie) is not { } session)
        {
            // an expired or foreign cookie is no key at all: the route answers 401 as for any request without one
            return next(http);
        }

        if (!IsSafe(request.Method) && CsrfRefusal(request, session) is { } refusal)
        {
            return refusal.ExecuteAsync(http);
        }

        if (session.Key.Length > 0)
        {
            request.Headers.Authorization = "Bearer " + session.Key;
        }
        else if (session.UserId is { } userId && !session.IsAdmin)
        {
            // a user signed in by SSO has no key: the key check takes the user itself (SsoUserOf)
            http.Items[SsoUserItem] = userId;
        }

        return next(http);
    }

    /// <summary>The user of the request's admin UI session when they signed in by SSO (not as the admin), else null.</summary>
    public static string? SsoUserOf(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.Items.TryGetValue(SsoUserItem, out var value) ? value as string : null;
    }

    /// <summary>Null when a change carries the session's CSRF token and (when named) comes from this origin.</summary>
    public static OpenAiErrorResult? CsrfRefusal(HttpRequest request, UiSession session)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(session);
        var origin = request.Headers.Origin.ToString();
        var own = request.HttpContext.RequestServices?.GetService(typeof(IProxyConfigProvider)) is IProxyConfigProvider config
            ? UiTransport.Origin(request.HttpContext, config.Current.GeneralSettings)
            : $"{request.Scheme}://{request.Host.Value}";
        if (origin.Length > 0 && !string.Equals(origin, own, StringComparison.OrdinalIgnoreCase))
        {
            return Forbidden($"Origin {origin} is not this gateway's: a change made with the UI session cookie must come from the UI", "csrf_origin_mismatch");
        }

        var token = request.Headers[CsrfHeader].ToString();
        return token.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(session.CsrfToken))
            ? null
            : Forbidden($"A change made with the UI session cookie needs the session's CSRF token in the {CsrfHeader} header", "csrf_token_invalid");
    }

    private static bool IsSafe(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    private static OpenAiErrorResult Forbidden(string message, string code) =>
        new(StatusCodes.Status403Forbidden, message, "invalid_request_error", null, code);
}
