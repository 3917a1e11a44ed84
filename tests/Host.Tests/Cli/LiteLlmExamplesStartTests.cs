using System.Net;
using System.Text.Json.Nodes;
using Broker.Host.Tests.Alerts;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;

namespace Broker.Host.Tests.Cli;

/// <summary>
/// Every fixture of tests/Config.Tests/Fixtures/litellm-examples (one per LiteLLM example config, same keys and shapes)
/// starts a broker with dummy environment values and answers its liveness probe; a guardrail Broker does not run makes
/// the requests it guards fail closed rather than refusing the file.
/// </summary>
public sealed class LiteLlmExamplesStartTests
{
    private static readonly string Folder = Path.Combine(RepoRoot(), "tests", "Config.Tests", "Fixtures", "litellm-examples");

    public static TheoryData<string> Examples()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Folder, "*.yaml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    [Trait("Category", "Integration")]
    public async Task Start_LiteLlmExample_AnswersLiveness(string fixture)
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(Folder, fixture));
        await using var db = yaml.Contains("EXAMPLE_DATABASE_URL", StringComparison.Ordinal) ? await TestDatabase.CreateAsync() : null;
        var env = new Dictionary<string, string>
        {
            ["EXAMPLE_ANTHROPIC_KEY"] = "sk-ant-example-1",
            ["EXAMPLE_ANTHROPIC_KEY_2"] = "sk-ant-example-2",
            ["EXAMPLE_AWS_KEY_ID"] = "AKIAEXAMPLE0000",
            ["EXAMPLE_AWS_SECRET"] = "aws-example-secret",
            ["EXAMPLE_AZURE_BASE"] = "https://azure-example.openai.azure.com",
            ["EXAMPLE_AZURE_KEY"] = "azure-example-key",
            ["EXAMPLE_COHERE_KEY"] = "co-example-key",
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
        if (db is not null)
        {
            env["EXAMPLE_DATABASE_URL"] = db.Url;
        }

        await using var broker = await BrokerRunner.StartEmbeddedAsync(yaml, env);

        using var live = await broker.Http.GetAsync("health/liveliness");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task CompleteChat_DefaultOnGuardrailBrokerDoesNotRun_503AndNothingSent()
    {
        await using var upstream = await FakeUpstream.StartOpenAiAsync();
        await using var broker = await BrokerRunner.StartEmbeddedAsync($$"""
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_base: "{{upstream.BaseUrl}}/v1", api_key: sk-up-1111}
            guardrails:
              - guardrail_name: vendor-check
                litellm_params: {guardrail: aporia, mode: pre_call, default_on: true, api_key: ap-key}
            """);

        using var response = await broker.Http.PostAsync("v1/chat/completions", AlertDeliveryTests.Chat("gpt-4o"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("guardrail_unavailable", error["code"]!.GetValue<string>());
        Assert.Contains("vendor-check", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(upstream.Requests);
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Broker.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Broker.sln not found above " + AppContext.BaseDirectory);
    }
}
