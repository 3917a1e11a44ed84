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

    [Fact]
    public void Load_UnsetVariablesInSectionsBrokerDoesNotRead_WarningsNamingEachAndTheFileStarts()
    {
        const string yaml = """
            model_list:
              - model_name: a
                litellm_params: {model: openai/a, api_key: sk-set}
            files_settings:
              - custom_llm_provider: azure
                api_base: os.environ/UNSET_FILES_BASE
            finetune_settings:
              - custom_llm_provider: openai
                api_key: os.environ/UNSET_FINETUNE_KEY
            guardrails:
              - guardrail_name: aporia-pre
                litellm_params: {guardrail: aporia, mode: during_call, api_key: os.environ/UNSET_APORIA_KEY}
              - guardrail_name: hook
                litellm_params: {guardrail: generic_guardrail_api, mode: pre_call, api_base: os.environ/UNSET_HOOK_BASE}
            litellm_settings:
              cache: true
              cache_params: {type: azure-blob, azure_account_url: os.environ/UNSET_BLOB_URL}
            """;

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Error);
        var warnings = Fixtures.Lines(result, ConfigSeverity.Warning);
        Assert.Contains("files_settings[0].api_base: environment variable UNSET_FILES_BASE is not set (os.environ/UNSET_FILES_BASE); this key is not read by Broker", warnings, StringComparison.Ordinal);
        Assert.Contains("finetune_settings[0].api_key: environment variable UNSET_FINETUNE_KEY is not set", warnings, StringComparison.Ordinal);
        Assert.Contains("guardrails[0].litellm_params.api_key: environment variable UNSET_APORIA_KEY is not set (os.environ/UNSET_APORIA_KEY); guardrail 'aporia-pre' cannot check without it: requests it guards fail closed (503)", warnings, StringComparison.Ordinal);
        Assert.Contains("guardrails[1].litellm_params.api_base: environment variable UNSET_HOOK_BASE is not set", warnings, StringComparison.Ordinal);
        Assert.Contains("litellm_settings.cache_params.azure_account_url: environment variable UNSET_BLOB_URL is not set", warnings, StringComparison.Ordinal);
        Assert.Contains("litellm_settings.cache_params.type: cache type 'azure-blob' is not served by Broker; it runs without a response cache", warnings, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_UnsetVariableInADeployment_StillAnError()
    {
        const string yaml = "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\n      api_key: os.environ/UNSET_DEPLOYMENT_KEY\nfiles_settings:\n  - api_key: os.environ/UNSET_FILES_KEY\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        var error = Assert.Single(result.Diagnostics, d => d.Severity == ConfigSeverity.Error);
        Assert.Equal("model_list[0].litellm_params.api_key", error.Path);
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("    host: 127.0.0.1\n", false)]
    [InlineData("    redis_startup_nodes: [{host: 127.0.0.1, port: 7001}]\n", false)]
    public void Load_RedisCacheNamingNoRedis_WarnsItRunsWithoutACache(string where, bool warned)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nlitellm_settings:\n  cache: true\n  cache_params:\n    type: redis\n{where}";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.True(result.IsUsable, ConfigReport.Render(result));
        Assert.Equal(warned, Fixtures.Lines(result, ConfigSeverity.Warning).Contains("cache type redis names no Redis", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_RedisCacheWithRedisHostInEnvironmentVariables_NoWarning()
    {
        const string yaml = "environment_variables:\n  REDIS_HOST: 127.0.0.1\nmodel_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\nlitellm_settings:\n  cache: true\n  cache_params: {type: redis}\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        Assert.DoesNotContain("names no Redis", Fixtures.Lines(result, ConfigSeverity.Warning), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_JwtAuthInOktaShape_EveryKeyKnownTheUnusedOnesNamedNotActive()
    {
        var result = Fixtures.Load(Path.Combine("litellm-examples", "jwt-okta.yaml"), LiteLlmExamplesTests.Environment);

        Assert.DoesNotContain(result.Diagnostics, d => d.Severity >= ConfigSeverity.Warning && d.Path.Contains("litellm_jwtauth", StringComparison.Ordinal));
        var notActive = Fixtures.Lines(result, ConfigSeverity.Info);
        Assert.Contains("general_settings.litellm_jwtauth.user_id_upsert", notActive, StringComparison.Ordinal);
        Assert.Contains("general_settings.litellm_jwtauth.user_email_jwt_field", notActive, StringComparison.Ordinal);
        Assert.DoesNotContain("general_settings.litellm_jwtauth.role_mappings", notActive, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user_allowed_email_domain: example.com", true)]
    [InlineData("enforce_scope_based_access: true", true)]
    [InlineData("enforce_scope_based_access: false", false)]
    [InlineData("admin_allowed_routes: [\"/key/generate\"]", true)]
    [InlineData("enforce_scope_based_access: no", false)]
    [InlineData("team_id_default: t-default", true)]
    [InlineData("object_id_jwt_field: oid", true)]
    [InlineData("enforce_rbac: maybe", true)]
    [InlineData("enforce_rbac: yes", false)]
    [InlineData("some_future_field: x", false)]
    public void Load_JwtRestrictionBrokerDoesNotEnforce_RefusedNamingTheKey(string line, bool refused)
    {
        var yaml = $"model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/a\ngeneral_settings:\n  enable_jwt_auth: true\n  litellm_jwtauth:\n    public_key_url: https://idp.example/jwks\n    {line}\n";

        var result = ProxyConfigLoader.LoadText(yaml, "config.yaml", _ => null);

        var key = "general_settings.litellm_jwtauth." + line[..line.IndexOf(':', StringComparison.Ordinal)];
        Assert.Equal(refused, result.Diagnostics.Any(d => d.Severity == ConfigSeverity.Error && d.Path == key));
        Assert.Equal(!refused, result.IsUsable);
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
