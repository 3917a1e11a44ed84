using Broker.Config.Model;
using Broker.Ingress.Auth;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Ui;

/// <summary>
/// How the browser reached the gateway: over TLS when the connection is, or when a trusted proxy
/// (<c>use_x_forwarded_for</c> and the peer in <c>trusted_proxies</c>) says so in <c>X-Forwarded-Proto</c>. A forwarded
/// header from anyone else is ignored. Decides the session cookie's Secure flag, the origin a change must come from,
/// and the SSO redirect URI when <c>PROXY_BASE_URL</c> is not set.
/// </summary>
public static class UiTransport
{
    public static bool IsTls(HttpContext http, GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(general);
        if (http.Request.IsHttps)
        {
            return true;
        }

        return IsTrustedProxy(http, general) &&
               http.Request.Headers["X-Forwarded-Proto"].ToString().Split(',', StringSplitOptions.TrimEntries) is { Length: > 0 } protos &&
               string.Equals(protos[^1], "https", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The origin the browser sees: <c>https://host</c> behind a trusted TLS proxy, else the request's own.</summary>
    public static string Origin(HttpContext http, GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(http);
        var host = IsTrustedProxy(http, general) && http.Request.Headers["X-Forwarded-Host"].ToString() is { Length: > 0 } forwarded
            ? forwarded.Split(',', StringSplitOptions.TrimEntries)[^1]
            : http.Request.Host.Value;
        return $"{(IsTls(http, general) ? "https" : http.Request.Scheme)}://{host}";
    }

    private static bool IsTrustedProxy(HttpContext http, GeneralSettings general) =>
        general.UseXForwardedFor && http.Connection.RemoteIpAddress is { } peer &&
        ClientAddress.Matches(general.TrustedProxies, peer.IsIPv4MappedToIPv6 ? peer.MapToIPv4() : peer);
}
