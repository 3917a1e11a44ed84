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
    [InlineData("usage-based-routing", "usage-based-routing-v2")]
    [InlineData("least-busy", "least-busy")]
    [InlineData("round-robin-of-my-own", "simple-shuffle")]
    public void Load_RoutingStrategy_ResolvedToCanonicalNameOnce(string configured, string expected)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nrouter_settings:\n  routing_strategy: {configured}\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.Equal(expected, result.Config!.RouterSettings.RoutingStrategy);
    }

    [Theory]
    [InlineData("gcs_bucket", "not implemented by Broker")]
    [InlineData("lunary", "not implemented by Broker")]
    [InlineData("my_module.my_handler", "Python object path")]
    [InlineData("no-such-logger", "unknown callback")]
    public void Load_CallbackBrokerDoesNotActOn_WarnsWithKnownNames(string name, string expected)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nlitellm_settings:\n  success_callback: [langfuse, {name}]\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        var warning = Assert.Single(result.Diagnostics, d => d.Severity == ConfigSeverity.Warning);
        Assert.Equal("litellm_settings.success_callback[1]", warning.Path);
        Assert.Contains(expected, warning.Message, StringComparison.Ordinal);
        Assert.Contains("langfuse, langsmith, openmeter, otel", warning.Message.Replace("generic, generic_api, ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CallbackDeclaredInCallbackSettings_NoWarning()
    {
        var yaml = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nlitellm_settings:\n  callbacks: [my_logger, otel]\n" +
            "callback_settings:\n  my_logger:\n    callback_type: generic_api\n    endpoint: http://127.0.0.1:9/log\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Warning);
    }

    [Theory]
    [InlineData("daily_reports", "is not raised by Broker")]
    [InlineData("llm_exception", "is not an alert type")]
    public void Load_AlertTypeBrokerDoesNotRaise_WarnsWithRaisedKinds(string type, string expected)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\ngeneral_settings:\n  alert_types: [budget_alerts, {type}]\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        var warning = Assert.Single(result.Diagnostics, d => d.Severity == ConfigSeverity.Warning);
        Assert.Equal("general_settings.alert_types[1]", warning.Path);
        Assert.Contains(expected, warning.Message, StringComparison.Ordinal);
        Assert.Contains("failed_tracking_spend", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingEnvironmentVariableInSectionNotActiveYet_IsAWarningNotAnError()
    {
        var yaml = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n" +
            "general_settings:\n  proxy_batch_polling_interval: os.environ/POLLING_UNSET\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Error);
    }

    [Theory]
    [InlineData("azure-blob")]
    [InlineData("some-new-backend")]
    public void Load_CacheTypeBrokerDoesNotServe_StartsWithoutCache(string type)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nlitellm_settings:\n  cache: true\n  cache_params:\n    type: {type}\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Error);
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
