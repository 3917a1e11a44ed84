using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

public sealed class ProxyConfigLoaderTests
{
    private static ConfigDiagnostic Single(ConfigLoadResult result, ConfigSeverity severity, string path) =>
        Assert.Single(result.Diagnostics, d => d.Severity == severity && d.Path == path);

    [Fact]
    public void Load_BadYamlSyntax_ReportsOneErrorWithLineAndColumn()
    {
        var result = Fixtures.Load("broken-syntax.yaml");

        Assert.Null(result.Config);
        Assert.False(result.IsUsable);
        var error = Assert.Single(result.Diagnostics);
        Assert.Equal(ConfigSeverity.Error, error.Severity);
        Assert.Equal(Fixtures.PathOf("broken-syntax.yaml"), error.File);
        Assert.Equal((5, 6), (error.Line, error.Column));
        Assert.StartsWith("invalid YAML: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_ReportsErrorInsteadOfThrowing()
    {
        var result = ProxyConfigLoader.LoadFile(Fixtures.PathOf("does-not-exist.yaml"), _ => null);

        Assert.Null(result.Config);
        Assert.Equal("config file not found", Assert.Single(result.Diagnostics).Message);
    }

    [Fact]
    public void Load_MissingEnvVar_ReportsYamlPathAndVariable()
    {
        var result = Fixtures.Load("broken-missing-env.yaml");

        Assert.False(result.IsUsable);
        Assert.NotNull(result.Config);
        var error = Assert.Single(result.Errors);
        Assert.Equal("model_list[0].litellm_params.api_key", error.Path);
        Assert.Equal("environment variable OPENAI_API_KEY is not set (os.environ/OPENAI_API_KEY)", error.Message);
        Assert.Equal((5, 16), (error.Line, error.Column));
        Assert.EndsWith(
            "broken-missing-env.yaml:5:16: error: model_list[0].litellm_params.api_key: environment variable OPENAI_API_KEY is not set (os.environ/OPENAI_API_KEY)",
            error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Load_EnvironmentVariablesSection_FeedsOsEnvironLookups()
    {
        var result = Fixtures.Text("""
            environment_variables:
              MY_KEY: sk-from-section-9999
              RETRIES: 4
            model_list:
              - model_name: m
                litellm_params:
                  model: openai/gpt-4o
                  api_key: os.environ/MY_KEY
                  max_retries: os.environ/RETRIES
            """);

        Assert.True(result.IsUsable, Fixtures.Lines(result, ConfigSeverity.Error));
        var deployment = result.Config!.ModelList.Single();
        Assert.Equal("sk-from-section-9999", deployment.ApiKey!.Value);
        Assert.Equal(4, deployment.MaxRetries);
        Assert.Equal("4", result.Config.EnvironmentVariables["RETRIES"]);
    }

    [Fact]
    public void Load_WrongTypes_ReportsEveryErrorWithPath()
    {
        var result = Fixtures.Load("broken-wrong-type.yaml");

        Assert.Equal(4, result.Errors.Count());
        var rpm = Single(result, ConfigSeverity.Error, "model_list[0].litellm_params.rpm");
        Assert.Equal("expected an integer, got 'sixty'", rpm.Message);
        Assert.Equal((5, 12), (rpm.Line, rpm.Column));
        var retries = Single(result, ConfigSeverity.Error, "router_settings.num_retries");
        Assert.Equal("expected an integer, got 'three'", retries.Message);
        Assert.Equal((7, 16), (retries.Line, retries.Column));
        Assert.Equal("expected true or false, got 'maybe'",
            Single(result, ConfigSeverity.Error, "router_settings.enable_pre_call_checks").Message);
        Assert.Equal("expected a list, got a map", Single(result, ConfigSeverity.Error, "general_settings.allowed_ips").Message);
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void Load_UnknownProvider_WarnsAndKeepsTheDeployment()
    {
        var result = Fixtures.Load("broken-unknown-provider.yaml");

        Assert.Empty(result.Errors);
        var unknown = Single(result, ConfigSeverity.Warning, "model_list[0].litellm_params.model");
        Assert.StartsWith("unknown provider 'foo' in 'foo/bar': calls to this deployment fail; set api_base", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("(known: openai, azure, ", unknown.Message, StringComparison.Ordinal);
        Assert.Equal((4, 14), (unknown.Line, unknown.Column));
        var warning = Single(result, ConfigSeverity.Warning, "model_list[1].litellm_params.model");
        Assert.StartsWith("unknown provider 'meta-llama' in 'meta-llama/Llama-3-8B'; api_base is set", warning.Message, StringComparison.Ordinal);
        Assert.Equal(2, result.Config!.ModelList.Count);
        var foo = result.Config.ModelList[0];
        Assert.Equal(("foo", "bar"), (foo.Provider, foo.ProviderModel));
        var llama = result.Config.ModelList[1];
        Assert.Equal("openai", llama.Provider);
        Assert.Equal("meta-llama/Llama-3-8B", llama.ProviderModel);
    }

    [Fact]
    public void Load_ProviderAlias_TakesTheProvidersKeyVariable()
    {
        var result = ProxyConfigLoader.LoadText(
            "model_list:\n  - model_name: c\n    litellm_params:\n      model: cohere_chat/command-r\n", "config.yaml",
            name => name == "COHERE_API_KEY" ? "co-from-env" : null);

        var deployment = Assert.Single(result.Config!.ModelList);
        Assert.Equal("cohere_chat", deployment.Provider);
        Assert.Equal("co-from-env", deployment.ApiKey!.Value);
    }

    [Fact]
    public void Load_DropParams_IsReadFromLitellmSettings()
    {
        var result = ProxyConfigLoader.LoadText("litellm_settings:\n  drop_params: true\n", "config.yaml", _ => null);

        Assert.True(result.Config!.LitellmSettings.DropParams);
        Assert.DoesNotContain(result.Diagnostics, d => d.Path.Contains("drop_params", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_MissingRequiredKeys_ReportsEachAsRequired()
    {
        var result = Fixtures.Load("broken-missing-model.yaml");

        var model = Single(result, ConfigSeverity.Error, "model_list[0].litellm_params.model");
        Assert.Equal("required", model.Message);
        Assert.Equal((4, 7), (model.Line, model.Column));
        Assert.Equal("required", Single(result, ConfigSeverity.Error, "model_list[1].model_name").Message);
        Assert.Equal("required", Single(result, ConfigSeverity.Error, "model_list[2].litellm_params").Message);
        Assert.Equal(3, result.Errors.Count());
        Assert.Empty(result.Config!.ModelList);
    }

    [Fact]
    public void Load_FallbackOrAliasToUnknownGroup_ReportsErrors()
    {
        var result = Fixtures.Load("broken-fallback-unknown-group.yaml");

        var fallback = Single(result, ConfigSeverity.Error, "router_settings.fallbacks[0].gpt-4o[0]");
        Assert.Equal("fallback target 'gpt-5' is not a model group (no model_name, alias or model_info.id matches it)", fallback.Message);
        Assert.Equal((6, 27), (fallback.Line, fallback.Column));
        var alias = Single(result, ConfigSeverity.Error, "router_settings.model_group_alias.gpt-4");
        Assert.Equal("alias target 'gpt-4-turbo' is not a model_name in model_list", alias.Message);
        Assert.Equal(2, result.Errors.Count());
    }

    [Fact]
    public void Load_FallbackToUnknownGroupWithStoreModelInDb_WarnsAndLoads()
    {
        var result = ProxyConfigLoader.LoadText("""
            model_list:
              - model_name: gpt-4o
                litellm_params: { model: gpt-4o }
            router_settings:
              fallbacks: [{"gpt-4o": ["runtime-only"]}]
            general_settings:
              store_model_in_db: true
            """, "config.yaml", _ => null);

        Assert.True(result.IsUsable, string.Join("\n", result.Diagnostics));
        var warning = Single(result, ConfigSeverity.Warning, "router_settings.fallbacks[0].gpt-4o[0]");
        Assert.Contains("runtime model group", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Yaml11Habits_AreUnderstood()
    {
        var result = Fixtures.Load("yaml11-habits.yaml", new Dictionary<string, string> { ["OPENAI_API_KEY"] = "sk-env-fallback-8888" });

        Assert.True(result.IsUsable, Fixtures.Lines(result, ConfigSeverity.Error));
        var d = result.Config!.ModelList.Single();
        Assert.Equal(20000, d.Tpm);
        Assert.Equal(100, d.Rpm);
        Assert.Equal("sk-env-fallback-8888", d.ApiKey!.Value);
        Assert.Equal(0.2, d.DefaultParams["temperature"].GetDouble());
        Assert.Equal(1024, d.DefaultParams["max_tokens"].GetInt32());
        Assert.True(d.DefaultParams["stream"].GetBoolean());
        Assert.Equal("\n\n", d.DefaultParams["stop"][0].GetString());
        Assert.Equal("END", d.DefaultParams["stop"][1].GetString());
        Assert.Equal(5, d.DefaultParams["extra_body"].GetProperty("top_k").GetInt32());
        Assert.Equal("b", d.DefaultParams["extra_body"].GetProperty("tags")[1].GetString());
        Assert.Equal("42", d.DefaultParams["seed"].GetString());
        Assert.Equal(["gpt-4o"], result.Config.RouterSettings.Fallbacks.Single().Fallbacks);
        Assert.False(result.Config.RouterSettings.DisableCooldowns);
        Assert.True(result.Config.RouterSettings.EnablePreCallChecks);
    }

    [Fact]
    public void Load_EmptyApiKeyAndNoEnvironment_LeavesApiKeyNull()
    {
        var result = Fixtures.Load("yaml11-habits.yaml");

        Assert.True(result.IsUsable);
        Assert.Null(result.Config!.ModelList.Single().ApiKey);
    }

    [Fact]
    public void Load_CrlfLineEndings_LoadsWithSamePositions()
    {
        var yaml = File.ReadAllText(Fixtures.PathOf("broken-wrong-type.yaml")).Replace("\n", "\r\n", StringComparison.Ordinal);

        var result = Fixtures.Text(yaml);

        var rpm = Single(result, ConfigSeverity.Error, "model_list[0].litellm_params.rpm");
        Assert.Equal((5, 12), (rpm.Line, rpm.Column));
        Assert.Equal(4, result.Errors.Count());
        Assert.Equal("gpt-4o", result.Config!.ModelList.Single().ModelName);
    }

    [Fact]
    public void Load_RpmTpmAtBothLevels_LitellmParamsWinsAndWarnsOnDifference()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: a
                rpm: 10
                tpm: 1000
                litellm_params:
                  model: gpt-4o
                  rpm: 20
              - model_name: b
                tpm: 5000
                litellm_params:
                  model: gpt-4o
                  tpm: 5000
            """);

        Assert.True(result.IsUsable);
        var a = result.Config!.ModelList[0];
        var b = result.Config.ModelList[1];
        Assert.Equal((20, 1000), (a.Rpm, a.Tpm));
        Assert.Equal(5000, b.Tpm);
        var warning = Single(result, ConfigSeverity.Warning, "model_list[0].rpm");
        Assert.Equal("differs from litellm_params.rpm (20); litellm_params.rpm is used", warning.Message);
        Assert.DoesNotContain(result.Diagnostics, d => d.Path == "model_list[1].tpm" && d.Severity == ConfigSeverity.Warning);
    }

    [Fact]
    public void Load_WildcardModelNames_BuildWildcardGroups()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: "*"
                litellm_params:
                  model: "*"
              - model_name: "openai-any/*"
                litellm_params:
                  model: openai/*
              - model_name: anthropic/*
                litellm_params:
                  model: anthropic/*
            """);

        Assert.True(result.IsUsable, Fixtures.Lines(result, ConfigSeverity.Error));
        var groups = result.Config!.ModelGroups;
        Assert.All(groups, g => Assert.True(g.IsWildcard));
        Assert.Equal(("openai", "*"), (groups[0].Deployments[0].Provider, groups[0].Deployments[0].ProviderModel));
        Assert.Equal(("openai", "*"), (groups[1].Deployments[0].Provider, groups[1].Deployments[0].ProviderModel));
        Assert.Equal(("anthropic", "*"), (groups[2].Deployments[0].Provider, groups[2].Deployments[0].ProviderModel));
    }

    [Fact]
    public void Load_UnknownKeys_WarnsWithPathsAndKeepsExtras()
    {
        var result = Fixtures.Load("unknown-keys.yaml");

        Assert.True(result.IsUsable);
        var warnings = result.Diagnostics
            .Where(d => d.Severity == ConfigSeverity.Warning && d.Message == "unknown key, ignored")
            .Select(d => $"{d.Line}:{d.Column} {d.Path}")
            .ToList();
        Assert.Equal(
            ["8:7 model_list[0].model_info.supports_vision", "9:5 model_list[0].colour", "12:3 router_settings.routng_strategy",
             "15:3 general_settings.masterkey", "16:1 extra_section"],
            warnings);
        var deployment = result.Config!.ModelList.Single();
        Assert.True(deployment.DefaultParams["custom_flag"].GetBoolean());
        Assert.Equal("gpt4o-main", deployment.Id);
        Assert.Equal(true, deployment.ModelInfo.Extra["supports_vision"]);
        Assert.Equal("least-busy", result.Config.RouterSettings.Extra["routng_strategy"]);
        Assert.Equal("oops", result.Config.GeneralSettings.Extra["masterkey"]);
    }

    [Fact]
    public void Load_RouterSettingsAndLitellmSettings_RouterWins()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: a
                litellm_params: {model: gpt-4o}
              - model_name: b
                litellm_params: {model: gpt-4o-mini}
            router_settings:
              num_retries: 1
              timeout: 30
              fallbacks: [{"a": ["b"]}]
            litellm_settings:
              num_retries: 7
              request_timeout: 600
              fallbacks: [{"b": ["nowhere"]}]
              cooldown_time: 5m
              model_group_alias: {"gpt-4": {model: "a", hidden: true}}
            """);

        Assert.True(result.IsUsable, Fixtures.Lines(result, ConfigSeverity.Error));
        var router = result.Config!.RouterSettings;
        Assert.Equal(1, router.NumRetries);
        Assert.Equal(TimeSpan.FromSeconds(30), router.Timeout);
        Assert.Equal("a", router.Fallbacks.Single().ModelGroup);
        Assert.Equal(TimeSpan.FromMinutes(5), router.CooldownTime);
        Assert.Equal("a", router.ModelGroupAlias["gpt-4"]);
        Assert.Equal(["gpt-4"], router.HiddenModelGroupAliases);
        Assert.Equal(7, result.Config.LitellmSettings.NumRetries);
        Assert.Equal(TimeSpan.FromSeconds(600), result.Config.LitellmSettings.RequestTimeout);
    }

    [Fact]
    public void Load_NoRetriesAnywhere_DefaultsToThree()
    {
        var result = Fixtures.Text("model_list: [{model_name: a, litellm_params: {model: gpt-4o}}]");

        Assert.Equal(3, result.Config!.RouterSettings.NumRetries);
        Assert.Equal(5, result.Config.RouterSettings.MaxFallbacks);
        Assert.Equal(10, result.Config.GeneralSettings.MaxRequestSizeMb);
    }

    [Fact]
    public void Load_MasterKeyAndDatabaseUrlAbsent_ComeFromEnvironment()
    {
        var result = Fixtures.Text("general_settings: {}", new Dictionary<string, string>
        {
            ["LITELLM_MASTER_KEY"] = "sk-master-from-env-1234",
            ["DATABASE_URL"] = "postgresql://u:p@db/x",
        });

        Assert.Equal("sk-master-from-env-1234", result.Config!.GeneralSettings.MasterKey!.Value);
        Assert.Equal("postgresql://u:p@db/x", result.Config.GeneralSettings.DatabaseUrl!.Value);
    }

    [Fact]
    public void Load_Deployments_GetStableIdsAndDuplicateIdsAreErrors()
    {
        var yaml = """
            model_list:
              - model_name: a
                litellm_params: {model: gpt-4o}
              - model_name: b
                litellm_params: {model: gpt-4o}
                model_info: {id: same}
              - model_name: c
                litellm_params: {model: gpt-4o}
                model_info: {id: same}
            """;

        var first = Fixtures.Text(yaml);
        var second = Fixtures.Text(yaml);

        Assert.Equal(ModelListReaderId(0, "a", "gpt-4o", null), first.Config!.ModelList[0].Id);
        Assert.Equal(12, first.Config.ModelList[0].Id.Length);
        Assert.Equal(first.Config.ModelList[0].Id, second.Config!.ModelList[0].Id);
        var duplicate = Single(first, ConfigSeverity.Error, "model_list[2].model_info.id");
        Assert.Equal("duplicate id 'same' (already used by model_list[1])", duplicate.Message);
    }

    private static string ModelListReaderId(int index, string name, string model, string? apiBase)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{index}|{name}|{model}|{apiBase}"));
        return Convert.ToHexStringLower(hash)[..12];
    }

    [Fact]
    public void Load_AzureWithoutApiBaseOrVersion_UsableWithWarnings()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: az
                litellm_params:
                  model: azure/my-deployment
            """, new Dictionary<string, string> { ["AZURE_API_KEY"] = "azure-key-from-env-0000" });

        Assert.True(result.IsUsable);
        Assert.Equal("not set for an azure deployment (nor AZURE_API_BASE): calls to this deployment fail until it is",
            Single(result, ConfigSeverity.Warning, "model_list[0].litellm_params.api_base").Message);
        Assert.Single(result.Diagnostics, d => d.Severity == ConfigSeverity.Warning && d.Path == "model_list[0].litellm_params.api_version");
    }

    [Fact]
    public void Load_AzureApiBaseFromEnvironment_IsUsable()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: az
                litellm_params:
                  model: azure/my-deployment
            """, new Dictionary<string, string>
        {
            ["AZURE_API_KEY"] = "azure-key-from-env-0000",
            ["AZURE_API_BASE"] = "https://x.openai.azure.com",
            ["AZURE_API_VERSION"] = "2024-06-01",
        });

        Assert.True(result.IsUsable);
        var d = result.Config!.ModelList.Single();
        Assert.Equal(("https://x.openai.azure.com", "2024-06-01", "azure-key-from-env-0000"), (d.ApiBase, d.ApiVersion, d.ApiKey!.Value));
    }

    [Fact]
    public void Load_KnownKeysNotActiveYet_ReportedOnceAsInfo()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: a
                litellm_params: {model: gpt-4o, max_retries: 1, timeout: 10, mock_response: hi}
                model_info: {max_output_tokens: 1}
              - model_name: b
                litellm_params: {model: gpt-4o, max_retries: 2}
                model_info: {max_output_tokens: 2}
            general_settings:
              master_key: sk-test-master-4321
              database_url: postgresql://localhost/x
              enable_oauth2_auth: true
            """);

        var infos = result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Info).Select(d => d.Path).ToList();
        Assert.Equal(["model_list[0].model_info.max_output_tokens", "general_settings.enable_oauth2_auth"], infos);
        Assert.All(result.Diagnostics.Where(d => d.Severity == ConfigSeverity.Info), d => Assert.Equal("loaded; not active yet", d.Message));
    }

    [Fact]
    public void Load_DurationsAsStringsOrNumbers_AreSeconds()
    {
        var result = Fixtures.Text("""
            model_list: [{model_name: a, litellm_params: {model: gpt-4o, timeout: "1.5", stream_timeout: 2m}}]
            router_settings: {timeout: 1h}
            general_settings: {health_check_interval: 30s, alerting_threshold: oops}
            """);

        var d = result.Config!.ModelList.Single();
        Assert.Equal(TimeSpan.FromSeconds(1.5), d.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(2), d.StreamTimeout);
        Assert.Equal(TimeSpan.FromHours(1), result.Config.RouterSettings.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(30), result.Config.GeneralSettings.HealthCheckInterval);
        Assert.StartsWith("expected a duration in seconds", Single(result, ConfigSeverity.Error, "general_settings.alerting_threshold").Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Load_RootNotAMap_ReportsErrorButBuildsEmptyConfig()
    {
        var result = Fixtures.Text("- just\n- a list\n");

        Assert.NotNull(result.Config);
        Assert.False(result.IsUsable);
        Assert.Equal((1, 1), (result.Errors.Single().Line, result.Errors.Single().Column));
    }

    [Fact]
    public void Load_DuplicateKey_IsAnError()
    {
        var result = Fixtures.Text("general_settings:\n  master_key: a\n  master_key: b\n");

        Assert.False(result.IsUsable);
        Assert.Single(result.Errors);
    }

    [Fact]
    public void Load_AnchorsAndMergeKeys_AreResolved()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: a
                litellm_params: &base
                  model: gpt-4o
                  temperature: 0.1
              - model_name: b
                litellm_params:
                  <<: *base
                  model: gpt-4o-mini
            """);

        Assert.True(result.IsUsable, Fixtures.Lines(result, ConfigSeverity.Error));
        Assert.Equal("gpt-4o-mini", result.Config!.ModelList[1].Model);
        Assert.Equal(0.1, result.Config.ModelList[1].DefaultParams["temperature"].GetDouble());
    }
}
