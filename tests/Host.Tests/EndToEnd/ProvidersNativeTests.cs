using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using Broker.Host.Tests.Infrastructure;
using Broker.TestKit;
using OpenAI;
using OpenAI.Chat;

namespace Broker.Host.Tests.EndToEnd;

/// <summary>
/// The official OpenAI SDK against an embedded Broker whose groups are <c>gemini/</c>, <c>cohere/</c> and
/// <c>bedrock/</c> deployments pointing at fake native APIs on 127.0.0.1.
/// </summary>
public sealed class ProvidersNativeTests : IAsyncLifetime
{
    private const string MasterKey = "sk-test-master-key-0001";
    private BrokerRunner _broker = null!;
    private FakeGemini _gemini = null!;
    private FakeCohere _cohere = null!;
    private FakeBedrock _bedrock = null!;

    public async Task InitializeAsync()
    {
        _gemini = await FakeGemini.StartAsync();
        _cohere = await FakeCohere.StartAsync();
        _bedrock = await FakeBedrock.StartAsync();
        var yaml = $$"""
            model_list:
              - model_name: gemini-flash
                litellm_params:
                  model: gemini/gemini-2.0-flash
                  api_base: {{_gemini.BaseUrl}}
              - model_name: gemini-embed
                litellm_params:
                  model: gemini/text-embedding-004
                  api_base: {{_gemini.BaseUrl}}
              - model_name: command-r
                litellm_params:
                  model: cohere_chat/command-r-plus
                  api_base: {{_cohere.BaseUrl}}
              - model_name: cohere-embed
                litellm_params:
                  model: cohere/embed-english-v3.0
                  api_base: {{_cohere.BaseUrl}}
              - model_name: claude-bedrock
                litellm_params:
                  model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
                  api_base: {{_bedrock.BaseUrl}}
                  aws_access_key_id: AKIATESTBROKER
                  aws_secret_access_key: os.environ/TEST_AWS_SECRET
                  aws_region_name: eu-west-1
            router_settings:
              timeout: 20
            general_settings:
              master_key: {{MasterKey}}
            """;
        _broker = await BrokerRunner.StartEmbeddedAsync(yaml, new Dictionary<string, string>
        {
            ["GEMINI_API_KEY"] = "AIza-from-env",
            ["COHERE_API_KEY"] = "co-from-env",
            ["TEST_AWS_SECRET"] = "aws-secret-from-env",
        });
    }

    public async Task DisposeAsync()
    {
        await _broker.DisposeAsync();
        await _gemini.DisposeAsync();
        await _cohere.DisposeAsync();
        await _bedrock.DisposeAsync();
    }

    private OpenAIClient Sdk() =>
        new(new ApiKeyCredential(MasterKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(_broker.BaseUrl + "/v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(60),
        });

    [Theory]
    [InlineData("gemini-flash", 12, 6)]
    [InlineData("command-r", 9, 4)]
    [InlineData("claude-bedrock", 15, 8)]
    public async Task CompleteChat_NativeProvider_ReturnsTranslatedAnswerAndUsage(string model, int input, int output)
    {
        var result = await Sdk().GetChatClient(model).CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hi")]);

        Assert.Equal("Hello from the fake provider", result.Value.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, result.Value.FinishReason);
        Assert.Equal(input, result.Value.Usage.InputTokenCount);
        Assert.Equal(output, result.Value.Usage.OutputTokenCount);
        Assert.Equal(model, result.Value.Model);
    }

    [Fact]
    public async Task CompleteChat_Upstreams_ReceiveTheirOwnAuthAndPaths()
    {
        await Sdk().GetChatClient("gemini-flash").CompleteChatAsync([new UserChatMessage("Hi")]);
        await Sdk().GetChatClient("command-r").CompleteChatAsync([new UserChatMessage("Hi")]);
        await Sdk().GetChatClient("claude-bedrock").CompleteChatAsync([new UserChatMessage("Hi")]);

        var gemini = Assert.Single(_gemini.Requests);
        Assert.Equal("/v1beta/models/gemini-2.0-flash:generateContent", gemini.Path);
        Assert.Equal("AIza-from-env", gemini.Headers["x-goog-api-key"]);
        var cohere = Assert.Single(_cohere.Requests);
        Assert.Equal("/v2/chat", cohere.Path);
        Assert.Equal("Bearer co-from-env", cohere.Headers["authorization"]);
        var bedrock = Assert.Single(_bedrock.Requests);
        Assert.Equal("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", bedrock.RawPath);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIATESTBROKER/", bedrock.Headers["authorization"], StringComparison.Ordinal);
        Assert.Contains("/eu-west-1/bedrock/aws4_request", bedrock.Headers["authorization"], StringComparison.Ordinal);
        var sent = Encoding.UTF8.GetString(bedrock.Body);
        Assert.DoesNotContain("aws_", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("aws-secret-from-env", sent, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gemini-flash", 18)]
    [InlineData("command-r", 13)]
    [InlineData("claude-bedrock", 23)]
    public async Task StreamChat_NativeProvider_AssemblesTextWithFinishAndUsage(string model, int totalTokens)
    {
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Sdk().GetChatClient(model).CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Hello from the fake provider", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal(totalTokens, usage?.TotalTokenCount);
    }

    [Theory]
    [InlineData("gemini-flash")]
    [InlineData("command-r")]
    [InlineData("claude-bedrock")]
    public async Task CompleteChat_ToolCallAnswer_ReturnsFunctionToolCall(string model)
    {
        _gemini.ReplyWithToolCall = _cohere.ReplyWithToolCall = _bedrock.ReplyWithToolCall = true;
        var options = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "Weather", BinaryData.FromString(
                    """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""")),
            },
        };

        var result = await Sdk().GetChatClient(model).CompleteChatAsync([new UserChatMessage("Weather in Paris?")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, result.Value.FinishReason);
        var call = Assert.Single(result.Value.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("""{"city":"Paris"}""", call.FunctionArguments.ToString());
        Assert.False(string.IsNullOrEmpty(call.Id));
    }

    [Theory]
    [InlineData("gemini-embed")]
    [InlineData("cohere-embed")]
    public async Task GenerateEmbeddings_NativeProvider_ReturnsOneVectorPerInput(string model)
    {
        var result = await Sdk().GetEmbeddingClient(model).GenerateEmbeddingsAsync(["hello", "world"]);

        Assert.Equal(2, result.Value.Count);
        Assert.Equal(3, result.Value[1].ToFloats().Length);
        Assert.Equal(0.3f + 1, result.Value[1].ToFloats().Span[2], 3);
    }
}
