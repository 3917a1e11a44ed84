namespace Broker.Config.Tests.Model;

public sealed class ProxyConfigTests
{
    private static readonly Broker.Config.Model.ProxyConfig Config = Fixtures.Text("""
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o}
          - model_name: gpt-4o
            litellm_params: {model: azure/gpt-4o, api_base: "https://x.openai.azure.com", api_version: "2024-06-01"}
          - model_name: anthropic/*
            litellm_params: {model: anthropic/*}
          - model_name: "*"
            litellm_params: {model: "*"}
        router_settings:
          model_group_alias: {"gpt-4": "gpt-4o"}
        """).Config!;

    [Fact]
    public void FindGroup_ExactName_ReturnsGroupWithAllDeployments()
    {
        var group = Config.FindGroup("gpt-4o");

        Assert.NotNull(group);
        Assert.Equal(["openai", "azure"], group.Deployments.Select(d => d.Provider));
        Assert.Equal("model-group.gpt-4o", group.QueueName);
    }

    [Fact]
    public void FindGroup_Alias_ResolvesToTargetGroup()
    {
        Assert.Equal("gpt-4o", Config.FindGroup("gpt-4")!.Name);
    }

    [Fact]
    public void FindGroup_Wildcard_LongestPrefixWins()
    {
        Assert.Equal("anthropic/*", Config.FindGroup("anthropic/claude-3-5-sonnet")!.Name);
        Assert.Equal("*", Config.FindGroup("mistral-large")!.Name);
    }

    [Fact]
    public void ModelGroups_Order_IsFirstAppearance()
    {
        Assert.Equal(["gpt-4o", "anthropic/*", "*"], Config.ModelGroups.Select(g => g.Name));
    }
}
