using System.Text.Json.Nodes;
using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Workers.Inference;

namespace Broker.Workers.Tests.Inference;

public sealed class PreCallCheckTests
{
    private static ModelDeployment Deployment(string id, int? maxInputTokens) =>
        TestDeployments.Create(id: id) with { ModelInfo = new ModelInfo { MaxInputTokens = maxInputTokens } };

    private static JsonObject Prompt(int words) => new()
    {
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = string.Join(' ', Enumerable.Repeat("hello", words)) }),
    };

    [Fact]
    public void PreCallCheck_PromptLongerThanSmallDeployment_LeavesOnlyTheOnesItFits()
    {
        var group = TestDeployments.Group("g", Deployment("small", 50), Deployment("large", 100_000), Deployment("unknown", null));

        var (fitting, tooLong) = InferenceSteps.PreCallCheck(group, Prompt(200), CancellationToken.None)!.Value;

        Assert.Null(tooLong);
        Assert.Equal(["large", "unknown"], fitting!.Deployments.Select(d => d.Id));
    }

    [Fact]
    public void PreCallCheck_PromptFitsEverywhere_KeepsTheGroup()
    {
        var group = TestDeployments.Group("g", Deployment("small", 50), Deployment("large", 100_000));

        var (fitting, _) = InferenceSteps.PreCallCheck(group, Prompt(5), CancellationToken.None)!.Value;

        Assert.Same(group, fitting);
    }

    [Fact]
    public void PreCallCheck_PromptTooLongForAll_IsAContextWindowError()
    {
        var group = TestDeployments.Group("g", Deployment("a", 50), Deployment("b", 80));

        var (_, tooLong) = InferenceSteps.PreCallCheck(group, Prompt(500), CancellationToken.None)!.Value;

        Assert.Equal(ProviderErrorClass.ContextWindowExceeded, tooLong!.Class);
        Assert.Equal("context_length_exceeded", tooLong.Code);
        Assert.Contains("max_input_tokens 80", tooLong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PreCallCheck_NoLimitsConfigured_ChecksNothing()
    {
        var group = TestDeployments.Group("g", Deployment("a", null));

        Assert.Null(InferenceSteps.PreCallCheck(group, Prompt(500), CancellationToken.None));
    }
}
