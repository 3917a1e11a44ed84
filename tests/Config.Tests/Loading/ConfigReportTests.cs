using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

public sealed class ConfigReportTests
{
    [Fact]
    public void Render_UsableConfig_ListsGroupsWithSecretsRedacted()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: gpt-4o
                litellm_params:
                  model: openai/gpt-4o
                  api_base: https://api.example.com/v1
                  api_key: sk-very-secret-key-abcd
                model_info: {id: one}
            router_settings:
              redis_password: hunter2-redis-password
              model_group_alias: {gpt-4: gpt-4o}
              enable_pre_call_checks: true
            general_settings:
              master_key: sk-master-secret-wxyz
              allowed_ips: ["10.0.0.0/8"]
              enable_oauth2_auth: true
            """);

        var text = ConfigReport.Render(result);

        Assert.Contains("Model groups (1):\n  gpt-4o  queue model-group.gpt-4o\n", text, StringComparison.Ordinal);
        Assert.Contains("    - openai/gpt-4o  id one  api_base https://api.example.com/v1  api_key sk-...abcd\n", text,
            StringComparison.Ordinal);
        Assert.Contains("  gpt-4 -> gpt-4o\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("master-secret", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", text, StringComparison.Ordinal);
        Assert.Contains("Not active yet (1):\n  config.yaml:15:3: info: general_settings.enable_oauth2_auth: loaded; not active yet\n", text,
            StringComparison.Ordinal);
        Assert.EndsWith("Config is usable.\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_Errors_ListsThemAndSaysNotUsable()
    {
        var result = Fixtures.Text("""
            model_list:
              - model_name: gpt-4o
                litellm_params:
                  api_key: sk-should-not-appear-1234
            """);

        var text = ConfigReport.Render(result);

        Assert.Contains("Errors (1):\n  config.yaml:4:7: error: model_list[0].litellm_params.model: required\n", text, StringComparison.Ordinal);
        Assert.EndsWith("Config has 1 error(s): not usable.\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("should-not-appear", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_UnparsableYaml_SaysNothingLoaded()
    {
        var text = ConfigReport.Render(Fixtures.Text("a: [1, 2\n"));

        Assert.StartsWith("Model groups: none (the file could not be loaded)\nErrors (1):\n  config.yaml:", text, StringComparison.Ordinal);
        Assert.EndsWith("Config has 1 error(s): not usable.\n", text, StringComparison.Ordinal);
    }
}
