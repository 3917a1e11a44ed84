using System.Text.Json.Nodes;
using Broker.Ingress.Caching;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Tests.Caching;

public sealed class CacheControlsTests
{
    private static CacheControls Parse(string json, string? cacheControl = null)
    {
        IHeaderDictionary headers = new HeaderDictionary();
        if (cacheControl is not null)
        {
            headers.CacheControl = cacheControl;
        }

        return CacheControls.From(JsonNode.Parse(json)!.AsObject(), headers);
    }

    [Fact]
    public void From_BodyCacheObject_ReadsLiteLlmNames()
    {
        var c = Parse("""{"cache":{"no-cache":true,"no-store":true,"use-cache":true,"ttl":30,"s-maxage":5,"namespace":"team"}}""");

        Assert.True(c.NoCache);
        Assert.True(c.NoStore);
        Assert.True(c.UseCache);
        Assert.Equal(TimeSpan.FromSeconds(30), c.Ttl);
        Assert.Equal(TimeSpan.FromSeconds(5), c.MaxAge);
        Assert.Equal("team", c.Namespace);
    }

    [Fact]
    public void From_CacheControlHeader_ReadsDirectives()
    {
        var c = Parse("{}", "No-Cache, no-store, max-age=60, s-maxage=\"10\"");

        Assert.True(c.NoCache);
        Assert.True(c.NoStore);
        Assert.Equal(TimeSpan.FromSeconds(10), c.MaxAge);
    }

    [Fact]
    public void From_NothingOrNonsense_NoControls()
    {
        Assert.Equal(CacheControls.None, Parse("""{"cache":"yes"}"""));
        Assert.Equal(CacheControls.None, Parse("{}", "max-age=soon, private"));
    }
}
