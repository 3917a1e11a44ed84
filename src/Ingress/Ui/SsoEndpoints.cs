using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Broker.Config;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Broker.Ingress.Ui;

/// <summary>
/// Admin UI sign-in by SSO, on LiteLLM's routes: <c>GET /sso/key/generate?provider=NAME</c> starts the
/// authorization-code flow (state, PKCE S256, nonce for OpenID Connect) and <c>GET /sso/callback</c> (the redirect URI
/// to register with the provider: <c>{PROXY_BASE_URL}/sso/callback</c>) finishes it: the state must match the one this
/// browser was given (kept sealed in a short-lived cookie), the code is exchanged, the id_token checked, and the user
/// mapped (<see cref="SsoUsers"/>) gets the same session cookie as a key sign-in. <c>GET /ui/api/sso</c> lists the
/// providers for the sign-in page. A refused sign-in returns the browser to <c>/ui/?sso_error=CODE</c> without a session.
/// </summary>
public static class SsoEndpoints
{
    public const string FlowCookieName = "broker_sso_flow";
    private const string CallbackPath = "/sso/callback";
    private static readonly byte[] FlowPurpose = Encoding.UTF8.GetBytes("broker-sso-flow-v1");
    private static readonly TimeSpan FlowLifetime = TimeSpan.FromMinutes(10);
    private static readonly Dictionary<string, string> NoHeaders = [];

    public static WebApplication MapSso(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/ui/api/sso", Providers).AllowAnonymous();
        app.MapGet("/sso/key/generate", StartAsync).AllowAnonymous();
        app.MapGet(CallbackPath, CallbackAsync).AllowAnonymous();
        return app;
    }

    private static JsonTextResult Providers(IProxyConfigProvider config)
    {
        var providers = config.Current.GeneralSettings.Sso.Providers;
        return new JsonTextResult(new JsonObject
        {
            ["providers"] = new JsonArray(providers.Select(p => (JsonNode)new JsonObject
            {
                ["name"] = p.Name,
                ["display_name"] = p.DisplayName,
                ["login_url"] = "/sso/key/generate?provider=" + Uri.EscapeDataString(p.Name),
            }).ToArray()),
        }.ToJsonString(), NoHeaders);
    }

    private static async Task<IResult> StartAsync(HttpContext http, IProxyConfigProvider config, SsoClient client, UiSessionProtector protector, TimeProvider time)
    {
        var general = config.Current.GeneralSettings;
        if (IpRefusal(http, general) is { } denied)
        {
            return denied;
        }

        var sso = general.Sso;
        if (!sso.IsEnabled)
        {
            return new OpenAiErrorResult(StatusCodes.Status404NotFound,
                "SSO is not configured: set general_settings.oauth2_providers (or GOOGLE_CLIENT_ID, MICROSOFT_CLIENT_ID, GENERIC_CLIENT_ID)",
                "invalid_request_error", null, "sso_not_configured");
        }

        var asked = http.Request.Query["provider"].ToString();
        var provider = asked.Length == 0 && sso.Providers.Count == 1
            ? sso.Providers[0]
            : sso.Providers.FirstOrDefault(p => string.Equals(p.Name, asked, StringComparison.OrdinalIgnoreCase));
        if (provider is null)
        {
            return new OpenAiErrorResult(StatusCodes.Status400BadRequest,
                $"provider: '{asked}' is not one of the configured SSO providers ({string.Join(", ", sso.Providers.Select(p => p.Name))})",
                "invalid_request_error", "provider", "sso_unknown_provider");
        }

        SsoEndpointsSet endpoints;
        try
        {
            endpoints = await client.EndpointsAsync(provider, http.RequestAborted);
        }
        catch (SsoFailedException failure)
        {
            Log.SsoRefused(Logger(http), provider.Name, failure.Code, failure.Message);
            return new OpenAiErrorResult(StatusCodes.Status502BadGateway, $"The SSO provider {provider.Name} is not reachable: {failure.Message}",
                "api_error", null, failure.Code);
        }

        var state = Random(32);
        var nonce = Random(32);
        var verifier = provider.UsePkce ? Random(32) : null;
        var redirectUri = RedirectUri(http, general);
        var flow = new JsonObject
        {
            ["p"] = provider.Name,
            ["s"] = state,
            ["n"] = nonce,
            ["v"] = verifier,
            ["r"] = redirectUri,
            ["e"] = (time.GetUtcNow() + FlowLifetime).ToUnixTimeSeconds(),
        };
        // Lax, not Strict: the provider's redirect back is a cross-site navigation, and it must carry this cookie
        http.Response.Cookies.Append(FlowCookieName, protector.Seal(flow, FlowPurpose), FlowCookie(http, general));
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = provider.ClientId,
            ["redirect_uri"] = redirectUri,
            ["scope"] = provider.Scope,
            ["state"] = state,
        };
        if (provider.Kind == SsoProviderKind.OpenIdConnect)
        {
            query["nonce"] = nonce;
        }

        if (verifier is not null)
        {
            query["code_challenge"] = Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            query["code_challenge_method"] = "S256";
        }

        http.Response.Headers.CacheControl = "no-store";
        return Results.Redirect(QueryHelpers.AddQueryString(endpoints.Authorization.AbsoluteUri, query));
    }

    private static async Task<IResult> CallbackAsync(
        HttpContext http, IProxyConfigProvider config, SsoClient client, SsoUsers users, UiSessionProtector protector, TimeProvider time)
    {
        var general = config.Current.GeneralSettings;
        if (IpRefusal(http, general) is { } denied)
        {
            return denied;
        }

        var logger = Logger(http);
        var flowCookie = http.Request.Cookies[FlowCookieName];
        // one use only: whatever happens next, this browser's flow is over
        http.Response.Cookies.Delete(FlowCookieName, FlowCookie(http, general));
        http.Response.Headers.CacheControl = "no-store";
        var flow = protector.Open(flowCookie, FlowPurpose);
        var query = http.Request.Query;
        var state = query["state"].ToString();
        string? providerName = null;
        try
        {
            providerName = flow?["p"]?.GetValue<string>();
            var expected = flow?["s"]?.GetValue<string>();
            var expires = flow?["e"]?.GetValue<long>() ?? 0;
            if (flow is null || expected is null || DateTimeOffset.FromUnixTimeSeconds(expires) <= time.GetUtcNow() || state.Length == 0 ||
                !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(state), Encoding.UTF8.GetBytes(expected)))
            {
                throw new SsoFailedException("sso_state_mismatch",
                    flow is null ? "no sign-in was started in this browser (or it took over 10 minutes)" : "the state does not match the sign-in this browser started");
            }

            if (query["error"].ToString() is { Length: > 0 } error)
            {
                throw new SsoFailedException("sso_provider_error", $"the provider answered {error}");
            }

            var provider = general.Sso.Providers.FirstOrDefault(p => string.Equals(p.Name, providerName, StringComparison.OrdinalIgnoreCase)) ??
                           throw new SsoFailedException("sso_unknown_provider", $"provider {providerName} is no longer configured");
            var code = query["code"].ToString();
            if (code.Length == 0)
            {
                throw new SsoFailedException("sso_provider_error", "the provider sent no code");
            }

            var identity = await client.SignInAsync(provider, code, flow["r"]!.GetValue<string>(), flow["v"]?.GetValue<string>(),
                flow["n"]!.GetValue<string>(), http.RequestAborted);
            if (general.Sso.Providers.Count > 1)
            {
                // each provider hands out its own ids: with several, one provider's id must never land on a user (or match
                // a PROXY_ADMIN_ID) that another provider's id named, so the id is scoped by the provider's name
                identity = identity with { UserId = provider.Name + ":" + identity.UserId };
            }
            if (general.Sso.AllowedEmailDomains.Count > 0 &&
                (identity.Email is not { } email || !general.Sso.AllowedEmailDomains.Any(d => email.EndsWith("@" + d, StringComparison.OrdinalIgnoreCase))))
            {
                throw new SsoFailedException("sso_email_domain", $"{identity.Email ?? "a user without a verified e-mail"} is not in ALLOWED_EMAIL_DOMAINS");
            }

            var (userId, isAdmin) = await users.SignInAsync(identity, http.RequestAborted);
            if (!isAdmin && string.Equals(general.UiAccessMode, "admin_only", StringComparison.OrdinalIgnoreCase))
            {
                throw new SsoFailedException("ui_admin_only", $"{userId} is not a proxy admin (general_settings.ui_access_mode: admin_only)");
            }

            var session = new UiSession(isAdmin ? general.MasterKey?.Value ?? "" : "", isAdmin, UiEndpoints.NewCsrfToken(),
                time.GetUtcNow() + UiEndpoints.SessionTime, null)
            {
                UserId = userId,
                Email = identity.Email,
                Provider = provider.Name,
            };
            UiEndpoints.IssueSession(http, session, general, protector);
            Log.SsoSignedIn(logger, provider.Name, userId, isAdmin);
            return Results.Redirect("/ui/");
        }
        catch (SsoFailedException failure)
        {
            Log.SsoRefused(logger, providerName ?? "?", failure.Code, failure.Message);
            return Results.Redirect("/ui/?sso_error=" + Uri.EscapeDataString(failure.Code));
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or System.Text.Json.JsonException)
        {
            // a flow cookie of the right key but the wrong shape (an older release): start again
            Log.SsoRefused(logger, providerName ?? "?", "sso_state_mismatch", e.GetType().Name);
            return Results.Redirect("/ui/?sso_error=sso_state_mismatch");
        }
    }

    private static string RedirectUri(HttpContext http, GeneralSettings general) =>
        general.Sso.ProxyBaseUrl is { } baseUrl
            ? new Uri(baseUrl, CallbackPath.TrimStart('/')).AbsoluteUri
            : UiTransport.Origin(http, general) + CallbackPath;

    private static CookieOptions FlowCookie(HttpContext http, GeneralSettings general) => new()
    {
        HttpOnly = true,
        Secure = UiTransport.IsTls(http, general),
        SameSite = SameSiteMode.Lax,
        Path = "/sso",
        IsEssential = true,
        MaxAge = FlowLifetime,
    };

    private static OpenAiErrorResult? IpRefusal(HttpContext http, GeneralSettings general) =>
        general.AllowedIps.Count > 0 && (ClientAddress.Of(http, general) is not { } address || !ClientAddress.Matches(general.AllowedIps, address))
            ? AuthErrors.IpDenied(ClientAddress.Of(http, general)?.ToString())
            : null;

    private static ILogger Logger(HttpContext http) =>
        http.RequestServices.GetService(typeof(ILoggerFactory)) is ILoggerFactory loggers
            ? loggers.CreateLogger(typeof(SsoEndpoints).FullName!)
            : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    private static string Random(int bytes) => Base64Url(RandomNumberGenerator.GetBytes(bytes));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
