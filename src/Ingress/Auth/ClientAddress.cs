using System.Net;
using Broker.Config.Model;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Auth;

/// <summary>
/// The client's IP address for <c>allowed_ips</c>: the TCP peer, or the last untrusted address of X-Forwarded-For
/// when <c>use_x_forwarded_for</c> is on and the peer is one of <c>trusted_proxies</c> (CIDRs).
/// </summary>
public static class ClientAddress
{
    public static IPAddress? Of(HttpContext http, GeneralSettings general)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(general);
        var peer = Normalize(http.Connection.RemoteIpAddress);
        if (peer is null || !general.UseXForwardedFor || !Matches(general.TrustedProxies, peer))
        {
            return peer;
        }

        var hops = http.Request.Headers["X-Forwarded-For"].ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // walk from the nearest hop back: the first address that is not a trusted proxy is the client
        for (var i = hops.Length - 1; i >= 0; i--)
        {
            if (!IPAddress.TryParse(hops[i], out var hop))
            {
                return peer;
            }

            hop = Normalize(hop)!;
            if (!Matches(general.TrustedProxies, hop))
            {
                return hop;
            }

            peer = hop;
        }

        return peer;
    }

    /// <summary>True when the address is in one of the CIDRs (or equals one of the plain addresses).</summary>
    public static bool Matches(IReadOnlyList<string> networks, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(networks);
        ArgumentNullException.ThrowIfNull(address);
        foreach (var entry in networks)
        {
            if (entry.Contains('/', StringComparison.Ordinal))
            {
                if (IPNetwork.TryParse(entry, out var network) && network.Contains(address))
                {
                    return true;
                }
            }
            else if (IPAddress.TryParse(entry, out var single) && Normalize(single)!.Equals(address))
            {
                return true;
            }
        }

        return false;
    }

    private static IPAddress? Normalize(IPAddress? address) =>
        address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
}
