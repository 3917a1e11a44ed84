using System.Net;
using Broker.Config.Model;
using Broker.Ingress.Auth;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Tests.Auth;

public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("10.1.2.3", true)]
    [InlineData("192.168.0.9", true)]
    [InlineData("192.168.0.10", false)]
    [InlineData("11.0.0.1", false)]
    public void Matches_CidrsAndPlainAddresses_AsListed(string address, bool expected) =>
        Assert.Equal(expected, ClientAddress.Matches(["10.0.0.0/8", "192.168.0.9"], IPAddress.Parse(address)));

    [Fact]
    public void Of_TrustedProxyForwards_TakesTheLastUntrustedHop()
    {
        var http = Request("127.0.0.1", "203.0.113.7, 10.9.9.9, 127.0.0.5");
        var general = new GeneralSettings { UseXForwardedFor = true, TrustedProxies = ["127.0.0.0/8", "10.9.9.9"] };

        Assert.Equal(IPAddress.Parse("203.0.113.7"), ClientAddress.Of(http, general));
    }

    [Fact]
    public void Of_PeerNotTrusted_IgnoresTheHeader()
    {
        var http = Request("198.51.100.1", "10.0.0.1");
        var general = new GeneralSettings { UseXForwardedFor = true, TrustedProxies = ["127.0.0.0/8"] };

        Assert.Equal(IPAddress.Parse("198.51.100.1"), ClientAddress.Of(http, general));
    }

    [Fact]
    public void Of_ForwardedForOff_IgnoresTheHeaderEvenFromATrustedPeer()
    {
        var http = Request("127.0.0.1", "10.0.0.1");

        Assert.Equal(IPAddress.Parse("127.0.0.1"), ClientAddress.Of(http, new GeneralSettings { TrustedProxies = ["127.0.0.0/8"] }));
    }

    private static DefaultHttpContext Request(string peer, string forwardedFor)
    {
        var http = new DefaultHttpContext();
        http.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        http.Request.Headers["X-Forwarded-For"] = forwardedFor;
        return http;
    }
}
