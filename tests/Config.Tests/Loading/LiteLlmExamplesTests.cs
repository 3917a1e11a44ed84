using Broker.Config.Loading;

namespace Broker.Config.Tests.Loading;

/// <summary>
/// Fixtures/litellm-examples: one file per example config of LiteLLM's repository (litellm/proxy/example_config_yaml),
/// with the same keys and shapes in our own words (each names the example it mirrors). Every one is usable: what Broker
/// does not act on is a warning, never a reason to refuse the file.
/// </summary>
public sealed class LiteLlmExamplesTests
{
    /// <summary>Dummy values for every os.environ/ variable the fixtures name.</summary>
    public static readonly Dictionary<string, string> Environment = new(StringComparer.Ordinal)
    {
        ["EXAMPLE_ANTHROPIC_KEY"] = "sk-ant-example-1",
        ["EXAMPLE_ANTHROPIC_KEY_2"] = "sk-ant-example-2",
        ["EXAMPLE_AWS_KEY_ID"] = "AKIAEXAMPLE0000",
        ["EXAMPLE_AWS_SECRET"] = "aws-example-secret",
        ["EXAMPLE_AZURE_BASE"] = "https://azure-example.openai.azure.com",
        ["EXAMPLE_AZURE_KEY"] = "azure-example-key",
        ["EXAMPLE_COHERE_KEY"] = "co-example-key",
        ["EXAMPLE_DATABASE_URL"] = "postgresql://example:example@127.0.0.1:5432/example",
        ["EXAMPLE_FAKE_BASE"] = "http://127.0.0.1:9/v1",
        ["EXAMPLE_GEMINI_KEY"] = "gemini-example-key",
        ["EXAMPLE_GROQ_KEY"] = "gsk-example-key",
        ["EXAMPLE_GUARD_BASE"] = "http://127.0.0.1:9/guard",
        ["EXAMPLE_GUARD_KEY"] = "guard-example-key",
        ["EXAMPLE_LF_PUBLIC"] = "pk-lf-example",
        ["EXAMPLE_LF_SECRET"] = "sk-lf-example",
        ["EXAMPLE_MASTER_KEY"] = "sk-example-master-0000",
        ["EXAMPLE_OPENAI_KEY"] = "sk-openai-example",
        ["EXAMPLE_SANDBOX_KEY"] = "e2b-example-key",
        ["EXAMPLE_SEARCH_KEY"] = "search-example-key",
        ["EXAMPLE_SF_KEY"] = "sf-example-key",
        ["EXAMPLE_ZP_KEY"] = "zp-example-key",
    };

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", "litellm-examples"), "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void CheckConfig_LiteLlmExample_UsableWithoutErrors(string fixture)
    {
        var result = Fixtures.Load(Path.Combine("litellm-examples", fixture), Environment);

        Assert.True(result.IsUsable, Fixtures.Lines(result, ConfigSeverity.Error));
        Assert.DoesNotContain(result.Diagnostics, d => d.Severity == ConfigSeverity.Error);
    }

    [Fact]
    public void CheckConfig_LiteLlmExamples_OneFixturePerExampleFamily()
    {
        Assert.Equal(26, Examples().Count);
    }

    [Fact]
    public void CheckConfig_GuardrailKindsBrokerDoesNotRun_WarnedAndKeptSoTheirRequestsFailClosed()
    {
        var result = Fixtures.Load(Path.Combine("litellm-examples", "guardrails-unsupported.yaml"), Environment);

        var warnings = Fixtures.Lines(result, ConfigSeverity.Warning);
        foreach (var kind in new[] { "litellm_content_filter", "llm_as_a_judge", "aporia", "bedrock", "my_module.MyGuardrail", "tool_permission" })
        {
            Assert.Contains($"guardrail '{kind}' is not run by Broker", warnings, StringComparison.Ordinal);
        }

        var tools = Assert.Single(result.Config!.Guardrails, g => g.Name == "tools");
        Assert.True(tools.DefaultOn);
        Assert.Equal("tool_permission", tools.Guardrail);
    }
}
