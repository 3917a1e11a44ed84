using System.Net;
using System.Net.Sockets;

namespace Broker.Workers.Providers;

/// <summary>
/// The provider HttpClient's connections. With litellm_settings.force_ipv4 a provider host is resolved to its IPv4
/// addresses only and connected over IPv4 (an IPv6 literal is refused), for networks where IPv6 routes are broken.
/// </summary>
public static class ProviderConnections
{
    /// <summary>The handler provider calls go through; <paramref name="resolve"/> (DNS by default) is used with force_ipv4.</summary>
    public static SocketsHttpHandler CreateHandler(bool forceIpv4, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = 1024,
        };
        if (forceIpv4)
        {
            var resolver = resolve ?? ((host, cancellationToken) => Dns.GetHostAddressesAsync(host, AddressFamily.InterNetwork, cancellationToken));
            handler.ConnectCallback = (context, cancellationToken) => ConnectIpv4Async(context.DnsEndPoint, resolver, cancellationToken);
        }

        return handler;
    }

    private static async ValueTask<Stream> ConnectIpv4Async(
        DnsEndPoint endPoint, Func<string, CancellationToken, Task<IPAddress[]>> resolve, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(endPoint.Host, out var literal) ? [literal] : await resolve(endPoint.Host, cancellationToken);
        var ipv4 = addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToArray();
        if (ipv4.Length == 0)
        {
            throw new HttpRequestException($"'{endPoint.Host}' has no IPv4 address (litellm_settings.force_ipv4 is on)");
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(ipv4, endPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
