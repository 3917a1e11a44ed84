using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

public sealed class ConfigFeaturesTests
{
    [Theory]
    [InlineData("simple-shuffle", false)]
    [InlineData("least-busy", false)]
    [InlineData("usage-based-routing-v2", false)]
    [InlineData("latency-based-routing", false)]
    [InlineData("cost-based-routing", false)]
    public void Load_RoutingStrategy_KnownStrategiesAreActive(string strategy, bool expectNote)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nrouter_settings:\n  routing_strategy: {strategy}\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.True(result.IsUsable);
        Assert.Equal(expectNote, result.Diagnostics.Any(d =>
            d.Severity == ConfigSeverity.Info && d.Path == "router_settings.routing_strategy" && d.Message == ConfigFeatures.NotActiveMessage));
    }

    [Theory]
    [InlineData("local", false)]
    [InlineData("redis", false)]
    [InlineData("s3", false)]
    [InlineData("redis-semantic", false)]
    [InlineData("qdrant-semantic", false)]
    public void Load_CacheType_LocalAndRedisAreActive(string type, bool expectNote)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nlitellm_settings:\n  cache: true\n  cache_params:\n    type: {type}\n    ttl: 60\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.True(result.IsUsable);
        var notes = result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Info && d.Message == ConfigFeatures.NotActiveMessage).Select(d => d.Path).ToList();
        Assert.Equal(expectNote ? ["litellm_settings.cache_params.type"] : [], notes);
    }

    [Fact]
    public void Load_S3CacheParams_Active()
    {
        var result = Fixtures.Load("seed-cache-s3.yaml", Fixtures.SeedEnvironment);

        var notes = result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Info && d.Message == ConfigFeatures.NotActiveMessage).Select(d => d.Path).ToList();
        Assert.DoesNotContain("litellm_settings.cache_params.type", notes);
        Assert.DoesNotContain("litellm_settings.cache_params.s3_bucket_name", notes);
        Assert.DoesNotContain("litellm_settings.cache", notes);
    }
}
