using System.Net;
using System.Net.Sockets;
using System.Text;
using Broker.TestKit;
using Broker.Workers.Providers;

namespace Broker.Workers.Tests.Providers;

/// <summary>litellm_settings.force_ipv4: provider connections go to the host's IPv4 address even when IPv6 is offered first.</summary>
public sealed class ProviderConnectionsTests
{
    [Fact]
    public async Task Post_ForceIpv4HostResolvingIpv6First_ConnectsOverIpv4Only()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        var port = new Uri(upstream.BaseUrl).Port;
        // the same port on ::1: a connection over IPv6 would land here instead of on the provider
        using var ipv6 = new TcpListener(IPAddress.IPv6Loopback, port);
        ipv6.Start();
        var resolved = new List<string>();
        using var client = new HttpClient(ProviderConnections.CreateHandler(forceIpv4: true, (host, _) =>
        {
            resolved.Add(host);
            return Task.FromResult(new[] { IPAddress.IPv6Loopback, IPAddress.Loopback });
        }));

        using var response = await client.PostAsync($"http://provider.test:{port}/v1/chat/completions",
            new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["provider.test"], resolved);
        Assert.Single(upstream.Requests);
        Assert.False(ipv6.Pending());
    }

    [Fact]
    public async Task Post_ForceIpv4HostWithOnlyIpv6_FailsNamingTheSetting()
    {
        using var client = new HttpClient(ProviderConnections.CreateHandler(forceIpv4: true, (_, _) => Task.FromResult(new[] { IPAddress.IPv6Loopback })));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("http://v6only.test:1/"));

        Assert.Contains("force_ipv4", error.ToString(), StringComparison.Ordinal);
    }
}
