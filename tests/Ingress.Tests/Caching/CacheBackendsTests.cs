using Broker.Config.Model;
using Broker.Ingress.Caching;

namespace Broker.Ingress.Tests.Caching;

public sealed class CacheBackendsTests
{
    [Fact]
    public void BuiltIn_EveryServedTypeName_HasExactlyOneBackend()
    {
        var names = CacheBackends.BuiltIn.Select(b => b.Name).ToList();

        Assert.Equal(CacheTypeNames.Served.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Find_TypeLoadedButNotServed_NoBackend()
    {
        Assert.All(CacheTypeNames.NotServed, type => Assert.Null(CacheBackends.Find(type)));
    }

    [Fact]
    public void From_NotServedType_CacheOff()
    {
        var settings = CacheSettings.From(new LitellmSettings { Cache = true, CacheParams = new CacheParams { Type = "azure-blob" } });

        Assert.False(settings.Enabled);
    }

    [Fact]
    public void From_ServedType_CacheOn()
    {
        var settings = CacheSettings.From(new LitellmSettings { Cache = true, CacheParams = new CacheParams { Type = CacheTypeNames.S3 } });

        Assert.True(settings.Enabled);
    }

    [Fact]
    public void NotConfigured_EveryBackendThatCanLackSettings_SaysWhat()
    {
        Assert.All(CacheBackends.BuiltIn.Where(b => b.Name != CacheTypeNames.Local), b => Assert.NotEmpty(b.NotConfigured));
    }
}
