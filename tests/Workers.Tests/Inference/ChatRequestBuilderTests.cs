using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Workers.Inference;

namespace Broker.Workers.Tests.Inference;

public sealed class ChatRequestBuilderTests
{
    [Fact]
    public void Build_DefaultParams_MergedUnderClientValues()
    {
        var defaults = new Dictionary<string, JsonElement>
        {
            ["temperature"] = JsonDocument.Parse("0.2").RootElement,
            ["max_tokens"] = JsonDocument.Parse("256").RootElement,
        };
        var deployment = TestDeployments.Create(defaults: defaults);
        var client = JsonNode.Parse("""{"model":"gpt-4o","messages":[],"max_tokens":10,"metadata":{"tag":"x"},"fallbacks":["b"]}""")!.AsObject();

        var request = ChatRequestBuilder.Build(client, deployment, "gpt-4o-2024-08-06");

        Assert.Equal("gpt-4o-2024-08-06", request["model"]!.GetValue<string>());
        Assert.Equal(0.2, request["temperature"]!.GetValue<double>());
        Assert.Equal(10, request["max_tokens"]!.GetValue<int>());
        Assert.False(request.ContainsKey("metadata"));
        Assert.False(request.ContainsKey("fallbacks"));
    }

    [Theory]
    [InlineData("tenant_id")]
    [InlineData("client_id")]
    [InlineData("client_secret")]
    [InlineData("azure_ad_token")]
    [InlineData("azure_password")]
    [InlineData("vertex_ai_credentials")]
    [InlineData("aws_external_id")]
    [InlineData("refresh_token")]
    public void Build_CredentialInLitellmParams_NeverSentToProvider(string key)
    {
        var defaults = new Dictionary<string, JsonElement>
        {
            [key] = JsonDocument.Parse("\"resolved-secret-value\"").RootElement,
            ["max_tokens"] = JsonDocument.Parse("256").RootElement,
            ["max_completion_tokens"] = JsonDocument.Parse("128").RootElement,
        };
        var deployment = TestDeployments.Create(defaults: defaults);
        var client = JsonNode.Parse("""{"model":"gpt-4o","messages":[]}""")!.AsObject();

        var request = ChatRequestBuilder.Build(client, deployment, "gpt-4o");

        Assert.False(request.ContainsKey(key));
        Assert.DoesNotContain("resolved-secret-value", request.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(256, request["max_tokens"]!.GetValue<int>());
        Assert.Equal(128, request["max_completion_tokens"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("*", "openai/*", "gpt-5-mini", "gpt-5-mini")]
    [InlineData("anthropic/*", "anthropic/*", "anthropic/claude-3-haiku", "claude-3-haiku")]
    [InlineData("gpt-4o", "openai/gpt-4o", "gpt-4o", "gpt-4o")]
    public void ProviderModel_WildcardGroups_FillInRequestedName(string groupName, string model, string requested, string expected)
    {
        var deployment = TestDeployments.Create(model: model, modelName: groupName);
        var group = new ModelGroup { Name = groupName, Deployments = [deployment] };

        Assert.Equal(expected, ChatRequestBuilder.ProviderModel(group, deployment, requested));
    }

    [Fact]
    public void GroupConcurrency_SumsDeploymentLimitsWithGeneralDefault()
    {
        var group = TestDeployments.Group("g", TestDeployments.Create(maxParallel: 2), TestDeployments.Create(maxParallel: null));

        Assert.Equal(7, GroupConcurrency.For(group, new GeneralSettings { MaxParallelRequests = 5 }));
        Assert.Equal(2 + GroupConcurrency.DefaultPerDeployment, GroupConcurrency.For(group, new GeneralSettings()));
    }
}
