using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Broker.Ingress.Keys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Ui;

/// <summary>
/// The admin UI at <c>/ui</c>: the built single-page app (any path under <c>/ui</c> without a file answers
/// <c>index.html</c>), and its session routes <c>POST/GET/DELETE /ui/api/session</c> (sign in with the master key or a
/// virtual key, see who is signed in, sign out), and sign-in by SSO (<see cref="SsoEndpoints"/>). The app itself only calls the public admin API with the session
/// cookie (<see cref="UiCookieAuth"/>).
/// </summary>
public static class UiEndpoints
{
    /// <summary>Nothing but this origin: scripts, styles, images, fetches; no frames, no plugins, no inline script.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
        "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(12);
    private static readonly Dictionary<string, string> NoHeaders = [];

    public static WebApplication MapUi(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/ui/api/session", SignInAsync).AllowAnonymous();
        app.MapGet("/ui/api/session", Current).AllowAnonymous();
        app.MapDelete("/ui/api/session", SignOut).AllowAnonymous();
        app.MapSso();
        app.MapMethods("/ui/api/{**rest}", [HttpMethods.Get, HttpMethods.Post, HttpMethods.Delete, HttpMethods.Put, HttpMethods.Patch],
            (HttpContext http) => new OpenAiErrorResult(StatusCodes.Status404NotFound, $"Unknown route {http.Request.Method} {http.Request.Path}",
                "invalid_request_error", null, "unknown_route")).AllowAnonymous();
        app.MapMethods("/ui", [HttpMethods.Get, HttpMethods.Head], (HttpContext http, UiAssets assets) => Serve(http, assets, "")).AllowAnonymous();
        app.MapMethods("/ui/{**path}", [HttpMethods.Get, HttpMethods.Head], (string? path, HttpContext http, UiAssets assets) => Serve(http, assets, path ?? ""))
            .AllowAnonymous();
        return app;
    }

    private static IResult Serve(HttpContext http, UiAssets assets, string path)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        if (!assets.IsBuilt)
        {
            return new OpenAiErrorResult(StatusCodes.Status503ServiceUnavailable,
                "The admin UI was not built into this binary (src/Ui: the build needs Node.js and npm)", "service_unavailable", null, "ui_not_built");
        }

        var asset = assets.Find(path);
        var immutable = asset is not null && path.StartsWith("assets/", StringComparison.Ordinal);
        if (asset is null)
        {
            // a file that is not there is a 404; any other path is a view of the single-page app
            if (path.Contains('.', StringComparison.Ordinal) || path.StartsWith("assets/", StringComparison.Ordinal))
            {
                return new OpenAiErrorResult(StatusCodes.Status404NotFound, $"No UI file {path}", "invalid_request_error", null, "not_found");
            }

            asset = assets.Find("index.html")!;
        }

        // hashed bundles never change under their name; index.html (which names them) is checked on every load
        headers.CacheControl = immutable ? "public, max-age=31536000, immutable" : "no-cache";
        headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch.ToString() == asset.ETag)
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Content, asset.ContentType);
    }

    private static async Task<IResult> SignInAsync(
        HttpContext http, IProxyConfigProvider config, IdentityCache cache, UiSessionProtector protector, TimeProvider time, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(UiEndpoints).FullName!);
        var general = config.Current.GeneralSettings;
        if (general.AllowedIps.Count > 0 &&
            (ClientAddress.Of(http, general) is not { } address || !ClientAddress.Matches(general.AllowedIps, address)))
        {
            return AuthErrors.IpDenied(ClientAddress.Of(http, general)?.ToString());
        }

        // JSON only: a cross-site HTML form cannot send it without the browser asking first (login CSRF)
        if (!(http.Request.ContentType ?? "").StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return new OpenAiErrorResult(StatusCodes.Status415UnsupportedMediaType, "Sign in with a JSON body {\"key\": \"sk-...\"}",
                "invalid_request_error", null, "unsupported_media_type");
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
        }
        catch (JsonException)
        {
            return OpenAiErrorResult.BadRequest("The body is not JSON: sign in with {\"key\": \"sk-...\"}", "key");
        }

        var key = body is JsonObject o && o["key"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>().Trim() : null;
        var masterKey = general.MasterKey?.Value;
        var open = string.IsNullOrEmpty(masterKey) && !general.EnableJwtAuth;
        if (string.IsNullOrEmpty(key) && !open)
        {
            return OpenAiErrorResult.BadRequest("key: required (the master key or a virtual key)", "key");
        }

        UiSession session;
        var expires = time.GetUtcNow() + SessionLifetime;
        if (open || (!string.IsNullOrEmpty(masterKey) && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key!), Encoding.UTF8.GetBytes(masterKey))))
        {
            session = new UiSession(key ?? "", true, NewToken(), expires, null);
            Log.SignedIn(logger, "the master key");
        }
        else
        {
            var redacted = Secret.Redact(key);
            if (!cache.IsConfigured)
            {
                Log.SignInRefused(logger, "no key store", redacted);
                return AuthErrors.InvalidKey(redacted);
            }

            var lookup = await cache.GetKeyAsync(AuthFilter.HashKey(key!), http.RequestAborted);
            if (lookup.Record is not { } record)
            {
                Log.SignInRefused(logger, lookup.DatabaseDown ? "database unavailable" : "unknown key", redacted);
                return lookup.DatabaseDown ? AuthErrors.DatabaseUnavailable() : AuthErrors.InvalidKey(redacted);
            }

            if (record.Blocked)
            {
                Log.SignInRefused(logger, "blocked", redacted);
                return AuthErrors.Blocked("this key");
            }

            if (record.Expires is { } keyExpires && keyExpires <= time.GetUtcNow())
            {
                Log.SignInRefused(logger, "expired", redacted);
                return AuthErrors.Expired(keyExpires, time.GetUtcNow());
            }

            if (string.Equals(general.UiAccessMode, "admin_only", StringComparison.OrdinalIgnoreCase))
            {
                Log.SignInRefused(logger, "ui_access_mode admin_only", redacted);
                return new OpenAiErrorResult(StatusCodes.Status403Forbidden,
                    "The admin UI is for the proxy admin only (general_settings.ui_access_mode: admin_only): sign in with the master key",
                    "invalid_request_error", null, "ui_admin_only");
            }

            session = new UiSession(key!, false, NewToken(), record.Expires is { } ke && ke < expires ? ke : expires, record.KeyAlias);
            Log.SignedIn(logger, redacted);
        }

        IssueSession(http, session, general, protector);
        return new JsonTextResult(Describe(session, general).ToJsonString(), NoHeaders);
    }

    /// <summary>Sets the session cookie: HttpOnly, SameSite=Strict, Secure when the browser reached us over TLS.</summary>
    internal static void IssueSession(HttpContext http, UiSession session, GeneralSettings general, UiSessionProtector protector)
    {
        http.Response.Cookies.Append(UiCookieAuth.CookieName, protector.Seal(session), new CookieOptions
        {
            HttpOnly = true,
            Secure = UiTransport.IsTls(http, general),
            SameSite = SameSiteMode.Strict,
            Path = "/",
            IsEssential = true,
        });
        http.Response.Headers.CacheControl = "no-store";
    }

    internal static TimeSpan SessionTime => SessionLifetime;

    internal static string NewCsrfToken() => NewToken();

    private static IResult Current(HttpContext http, IProxyConfigProvider config, UiSessionProtector protector)
    {
        http.Response.Headers.CacheControl = "no-store";
        return protector.Open(http.Request.Cookies[UiCookieAuth.CookieName]) is { } session
            ? new JsonTextResult(Describe(session, config.Current.GeneralSettings).ToJsonString(), NoHeaders)
            : OpenAiErrorResult.Unauthorized("Not signed in to the admin UI");
    }

    private static IResult SignOut(HttpContext http, UiSessionProtector protector, IProxyConfigProvider config)
    {
        if (protector.Open(http.Request.Cookies[UiCookieAuth.CookieName]) is { } session && UiCookieAuth.CsrfRefusal(http.Request, session) is { } refusal)
        {
            return refusal;
        }

        http.Response.Cookies.Delete(UiCookieAuth.CookieName, new CookieOptions
        {
            HttpOnly = true,
            Secure = UiTransport.IsTls(http, config.Current.GeneralSettings),
            SameSite = SameSiteMode.Strict,
            Path = "/",
        });
        return Results.NoContent();
    }

    private static JsonObject Describe(UiSession session, GeneralSettings general) => new()
    {
        ["role"] = session.IsAdmin ? "admin" : session.UserId is not null ? "user" : "key",
        ["user_id"] = session.UserId,
        ["user_email"] = session.Email,
        ["sso_provider"] = session.Provider,
        ["key_alias"] = session.KeyAlias,
        ["key_hint"] = session.IsAdmin || session.Key.Length == 0 ? null : Secret.Redact(session.Key),
        ["csrf_token"] = session.CsrfToken,
        ["expires_at"] = session.Expires.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        ["ui_access_mode"] = general.UiAccessMode ?? "all",
    };

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
}
