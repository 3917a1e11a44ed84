using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

public sealed class KeyManagementAndCustomAuthTests
{
    private const string Models = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o, api_key: sk-x}\n";

    private static ConfigLoadResult Load(string general, Dictionary<string, string>? env = null) =>
        ProxyConfigLoader.LoadText(Models + "general_settings:\n" + general, "config.yaml", n => env?.GetValueOrDefault(n));

    [Fact]
    public void Load_CustomAuthPythonModule_WarnsWhatToUseAndHasNoHook()
    {
        var result = Load("  custom_auth: custom_auth.user_api_key_auth\n");

        Assert.True(result.IsUsable);
        Assert.Null(result.Config!.GeneralSettings.CustomAuthHook);
        var warning = Assert.Single(result.Diagnostics, d => d.Path == "general_settings.custom_auth");
        Assert.Equal(ConfigSeverity.Warning, warning.Severity);
        Assert.Contains("Python module", warning.Message, StringComparison.Ordinal);
        Assert.Contains("url:", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CustomAuthUrl_ReadsHookWithResolvedHeadersAndTimeout()
    {
        var result = Load("  custom_auth: {url: https://auth.example/check, headers: {x-secret: os.environ/HOOK}, timeout: 2}\n",
            new() { ["HOOK"] = "s3cret" });

        Assert.True(result.IsUsable, string.Join("\n", result.Diagnostics));
        var hook = result.Config!.GeneralSettings.CustomAuthHook!;
        Assert.Equal(new Uri("https://auth.example/check"), hook.Url);
        Assert.Equal("s3cret", hook.Headers["x-secret"]);
        Assert.Equal(TimeSpan.FromSeconds(2), hook.Timeout);
        Assert.DoesNotContain("s3cret", hook.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(result.Diagnostics, d => d.Message.Contains(ConfigFeatures.NotActiveMessage, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_CustomAuthBadUrl_ErrorAtUrl()
    {
        var result = Load("  custom_auth: {url: not-a-url}\n");

        Assert.False(result.IsUsable);
        Assert.Contains(result.Errors, e => e.Path == "general_settings.custom_auth.url");
    }

    [Fact]
    public void Load_KeyManagementSettings_ReadEveryKeyAndWarnStoreVirtualKeys()
    {
        var result = Load("""
              key_management_system: aws_secret_manager
              key_management_settings:
                hosted_keys: ["litellm_master_key"]
                store_virtual_keys: true
                prefix_for_stored_virtual_keys: "litellm/"
                access_mode: read_and_write
                primary_secret_name: litellm_secrets
                refresh_interval: 300
                endpoint: http://127.0.0.1:4566
                description: "virtual key"
                tags: {team: ml}

            """);

        Assert.True(result.IsUsable, string.Join("\n", result.Diagnostics));
        var km = result.Config!.GeneralSettings.KeyManagement!;
        Assert.Equal("aws_secret_manager", km.System);
        Assert.Equal(["litellm_master_key"], km.HostedKeys);
        Assert.Equal("read_and_write", km.AccessMode);
        Assert.Equal("litellm_secrets", km.PrimarySecretName);
        Assert.Equal(TimeSpan.FromMinutes(5), km.RefreshInterval);
        Assert.Equal("http://127.0.0.1:4566", km.Endpoint);
        var store = Assert.Single(result.Diagnostics, d => d.Path == "general_settings.key_management_settings.store_virtual_keys" && d.Severity == ConfigSeverity.Warning);
        Assert.Contains("virtual keys are not written to aws_secret_manager", store.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Diagnostics, d => d.Message.Contains("unknown key", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Diagnostics, d => d.Path == "general_settings.key_management_system");
    }

    [Fact]
    public void Load_ManagerBrokerDoesNotReadYet_NotActiveNote()
    {
        var result = Load("  key_management_system: cyberark\n");

        Assert.True(result.IsUsable);
        Assert.Contains(result.Diagnostics, d => d.Path == "general_settings.key_management_system" &&
            d.Message.Contains(ConfigFeatures.NotActiveMessage, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("key_management_system: azure_key_vault", "azure_key_vault")]
    [InlineData("key_management_system: google_kms", "google_kms")]
    [InlineData("use_google_kms: true", "google_kms")]
    [InlineData("use_azure_key_vault: true", "azure_key_vault")]
    public void Load_AzureKeyVaultOrGoogleKms_ActiveWithoutANote(string line, string system)
    {
        var result = Load($"  {line}\n");

        Assert.True(result.IsUsable);
        Assert.Equal(system, result.Config!.GeneralSettings.KeyManagement!.System);
        Assert.DoesNotContain(result.Diagnostics, d => d.Message.Contains(ConfigFeatures.NotActiveMessage, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_UnknownManager_Error()
    {
        var result = Load("  key_management_system: lastpass\n");

        Assert.Contains(result.Errors, e => e.Path == "general_settings.key_management_system" && e.Message.Contains("lastpass", StringComparison.Ordinal));
    }
}
