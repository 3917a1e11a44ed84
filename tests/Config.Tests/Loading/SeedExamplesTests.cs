using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

/// <summary>Every config.yaml example of the seed (seed/litellm-proxy-config-hierarchy.txt) loads usable.</summary>
public sealed class SeedExamplesTests
{
    public static TheoryData<string> SeedFixtures()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures"), "seed-*.yaml").Order())
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SeedFixtures))]
    public void Load_SeedExample_IsUsableWithoutErrorsOrWarningsAboutKeys(string fixture)
    {
        var result = Fixtures.Load(fixture, Fixtures.SeedEnvironment);

        Assert.True(result.IsUsable, Fixtures.Lines(result, ConfigSeverity.Error));
        Assert.DoesNotContain(result.Diagnostics, d => d.Message == "unknown key, ignored");
    }

    [Fact]
    public void Load_SeedFixtures_CoverEveryExample()
    {
        Assert.Equal(22, SeedFixtures().Count);
    }

    [Fact]
    public void Load_SeedModelList_ResolvesKeysAndProviders()
    {
        var config = Fixtures.Load("seed-model-list.yaml", Fixtures.SeedEnvironment).Config!;

        var gpt = Assert.Single(config.FindGroup("gpt-4o")!.Deployments);
        Assert.Equal("openai", gpt.Provider);
        Assert.Equal("gpt-4o", gpt.ProviderModel);
        Assert.Equal("sk-openai-test-1111", gpt.ApiKey!.Value);
        Assert.Equal(60, gpt.Rpm);
        var claude = Assert.Single(config.FindGroup("claude-3-5-sonnet")!.Deployments);
        Assert.Equal("anthropic", claude.Provider);
        Assert.Equal("claude-3-5-sonnet-20240620", claude.ProviderModel);
        Assert.Equal("sk-ant-test-2222", claude.ApiKey!.Value);
    }

    [Fact]
    public void Load_SeedAzure_KeepsApiVersionAsString()
    {
        var deployment = Fixtures.Load("seed-azure.yaml", Fixtures.SeedEnvironment).Config!.ModelList.Single();

        Assert.Equal("azure", deployment.Provider);
        Assert.Equal("gpt-4", deployment.ProviderModel);
        Assert.Equal("2024-02-15-preview", deployment.ApiVersion);
        Assert.Equal("https://your-resource.openai.azure.com/", deployment.ApiBase);
    }

    [Fact]
    public void Load_SeedRouterRetries_LoadsRoutingSettings()
    {
        var result = Fixtures.Load("seed-router-retries.yaml", Fixtures.SeedEnvironment);
        var router = result.Config!.RouterSettings;

        Assert.Equal("usage-based-routing-v2", router.RoutingStrategy);
        Assert.True(router.EnablePreCallChecks);
        Assert.Equal(TimeSpan.FromSeconds(30), router.CooldownTime);
        Assert.False(router.DisableCooldowns);
        Assert.Equal(3, router.RetryPolicy!.AuthenticationErrorRetries);
        Assert.Equal(3, router.RetryPolicy.TimeoutErrorRetries);
        var rule = Assert.Single(router.Fallbacks);
        Assert.Equal("gpt-3.5-turbo", rule.ModelGroup);
        Assert.Equal(["gpt-4"], rule.Fallbacks);
        Assert.Equal("gpt-3.5-turbo", router.ModelGroupAlias["gpt-4"]);
        Assert.DoesNotContain(result.Diagnostics, d => d.Path == "router_settings.routing_strategy");
        // usage-based-routing-v2, pre-call checks, cooldowns, retries and fallbacks are all active now
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Info && d.Path.StartsWith("router_settings", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Diagnostics, d => d.Path == "router_settings.model_group_alias");
    }

    [Fact]
    public void Load_SeedLoadBalancing_ReadsWeights()
    {
        var lb = Fixtures.Load("seed-load-balancing.yaml").Config!.RouterSettings.LoadBalancing!;

        Assert.Equal("weighted_round_robin", lb.Strategy);
        Assert.Equal([new("gpt-4", 0.7), new("claude-3-opus", 0.3)], lb.Weights);
    }

    [Fact]
    public void Load_SeedCaches_ReadsRedisS3AndSentinelParams()
    {
        var redis = Fixtures.Load("seed-cache-redis.yaml").Config!.LitellmSettings;
        var s3 = Fixtures.Load("seed-cache-s3.yaml", Fixtures.SeedEnvironment).Config!.LitellmSettings.CacheParams!;
        var cluster = Fixtures.Load("seed-redis-cluster-sentinel.yaml").Config!.LitellmSettings.CacheParams!;

        Assert.True(redis.Cache);
        Assert.Equal("redis", redis.CacheParams!.Type);
        Assert.Equal(6379, redis.CacheParams.Port);
        Assert.Equal("your_password", redis.CacheParams.Password!.Value);
        Assert.Equal(TimeSpan.FromSeconds(600), redis.CacheParams.Ttl);
        Assert.Equal("openai-embedding", redis.CacheParams.QdrantSemanticCacheEmbeddingModel);
        Assert.Equal(0.8, redis.CacheParams.SimilarityThreshold);
        Assert.Equal("s3", s3.Type);
        Assert.Equal("AKIATEST00004444", s3.S3AwsAccessKeyId!.Value);
        Assert.Equal(["127.0.0.1:7001"], cluster.RedisStartupNodes);
        Assert.Equal(["localhost:26379"], cluster.SentinelNodes);
        Assert.Equal("mymaster", cluster.ServiceName);
    }

    [Fact]
    public void Load_SeedGeneralSettings_ReadsEveryKey()
    {
        var access = Fixtures.Load("seed-general-access.yaml").Config!.GeneralSettings;
        var alerting = Fixtures.Load("seed-alerting.yaml").Config!.GeneralSettings;
        var budget = Fixtures.Load("seed-budget.yaml").Config!.GeneralSettings;
        var pool = Fixtures.Load("seed-database-pool.yaml").Config!.GeneralSettings;
        var concurrency = Fixtures.Load("seed-concurrency.yaml").Config!.GeneralSettings;
        var oauth = Fixtures.Load("seed-oauth2.yaml").Config!.GeneralSettings;

        Assert.Equal("sk-xxx", access.MasterKey!.Value);
        Assert.True(access.UseGoogleKms);
        Assert.Equal(["/model/list", "/key/list"], access.AdminOnlyRoutes);
        Assert.Equal(TimeSpan.FromSeconds(300), alerting.AlertingThreshold);
        Assert.Equal("#budget-alerts", alerting.AlertingArgs!.AlertChannels["budget_alerts"]);
        Assert.Equal("https://webhook.site/yyy", alerting.AlertToWebhookUrl["system_alert"]);
        Assert.Equal(100.0m, budget.BudgetLocal);
        Assert.Equal("30d", budget.BudgetDuration);
        Assert.Equal(0.8, budget.BudgetAlertBuffer);
        Assert.Equal(100, pool.DatabaseConnectionPoolLimit);
        Assert.Equal(TimeSpan.FromSeconds(60), pool.DatabaseConnectionTimeout);
        Assert.Equal("30d", pool.MaximumSpendLogsRetentionPeriod);
        Assert.Equal(100, concurrency.MaxParallelRequests);
        Assert.Equal(TimeSpan.FromHours(1), concurrency.ProxyBatchPollingInterval);
        Assert.Equal(["google", "github"], oauth.Oauth2Providers.Select(p => p.Name));
        Assert.Equal("your-github-client-secret", oauth.Oauth2Providers[1].ClientSecret!.Value);
    }

    [Fact]
    public void Load_SeedLitellmSettings_ReadsCallbacksGuardrailsAndMcp()
    {
        var callbacks = Fixtures.Load("seed-callbacks.yaml").Config!.LitellmSettings;
        var guardrails = Fixtures.Load("seed-guardrails.yaml").Config!.LitellmSettings.Guardrails;
        var mcp = Fixtures.Load("seed-responses-mcp.yaml", Fixtures.SeedEnvironment).Config!;

        Assert.Equal(["langfuse", "openmeter"], callbacks.SuccessCallback);
        Assert.Equal(["datadog", "prometheus"], callbacks.ServiceCallback);
        Assert.True(callbacks.JsonLogs);
        Assert.Equal(["prompt_injection", "pii_masking", "hide_secrets_guard"], guardrails.Select(g => g.Name));
        Assert.Equal("lakera_prompt_injection", guardrails[0].Guardrail);
        Assert.True(guardrails[0].DefaultOn);
        Assert.False(guardrails[1].DefaultOn);
        Assert.Equal("npx", mcp.LitellmSettings.McpServers["github_mcp_server"].Command);
        Assert.Equal(["@modelcontextprotocol/server-github"], mcp.LitellmSettings.McpServers["github_mcp_server"].Args);
        Assert.Equal("zapier_mcp_server", mcp.LitellmSettings.McpAliases["zapier"]);
        var o1 = mcp.FindGroup("openai/o1-pro")!.Deployments.Single();
        Assert.Equal("o1-pro", o1.ProviderModel);
        Assert.Equal("medium", o1.DefaultParams["reasoning_effort"].GetString());
    }

    [Fact]
    public void Load_SeedFallbacks_LitellmSettingsFeedRouter()
    {
        var config = Fixtures.Load("seed-fallbacks.yaml").Config!;

        Assert.Equal(["claude-opus"], config.RouterSettings.DefaultFallbacks);
        Assert.Equal("claude-opus", config.RouterSettings.ContentPolicyFallbacks.Single().Fallbacks.Single());
        Assert.Equal("gpt-4", config.RouterSettings.ContextWindowFallbacks.Single().Fallbacks.Single());
        Assert.Equal(TimeSpan.FromSeconds(60), config.RouterSettings.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(60), config.LitellmSettings.RequestTimeout);
        Assert.Equal(3, config.RouterSettings.NumRetries);
    }
}
