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
}
