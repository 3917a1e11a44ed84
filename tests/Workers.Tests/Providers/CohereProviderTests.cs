using Broker.Contracts.Inference;
using Broker.TestKit;
using Broker.Workers.Providers;
using static Broker.Workers.Tests.Providers.NativeProviderFixture;

namespace Broker.Workers.Tests.Providers;

/// <summary>The Cohere provider against a real HTTP fake on 127.0.0.1.</summary>
public sealed class CohereProviderTests : IAsyncLifetime
{
    private FakeCohere _cohere = null!;
    private NativeProviderFixture _fixture = null!;

    public async Task InitializeAsync()
    {
        _cohere = await FakeCohere.StartAsync();
        _fixture = new NativeProviderFixture();
    }

    public async Task DisposeAsync()
    {
        await _fixture.DisposeAsync();
        await _cohere.DisposeAsync();
    }

    private ProviderCall Call(string json, string model = "cohere/command-r-plus") =>
        new(TestDeployments.Create(model: model, apiBase: _cohere.BaseUrl, apiKey: "co-test-key"), "command-r-plus", Request(json), "my-cohere");

    [Theory]
    [InlineData("cohere/command-r-plus")]
    [InlineData("cohere_chat/command-r-plus")]
    public async Task CompleteAsync_TextAnswer_PostsV2ChatWithBearerAndReturnsOpenAiCompletion(string model)
    {
        var result = await _fixture.Cohere.CompleteAsync(
            Call("""{"model":"command-r-plus","messages":[{"role":"user","content":"Hi"}],"top_p":0.5}""", model), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error?.Message);
        var seen = Assert.Single(_cohere.Requests);
        Assert.Equal("/v2/chat", seen.Path);
        Assert.Equal("Bearer co-test-key", seen.Headers["authorization"]);
        Assert.Equal("command-r-plus", seen.Json["model"]!.GetValue<string>());
        Assert.Equal(0.5, seen.Json["p"]!.GetValue<double>());
        Assert.False(seen.Json.ContainsKey("stream"));
        var choice = result.Completion!["choices"]![0]!;
        Assert.Equal(_cohere.ReplyText, choice["message"]!["content"]!.GetValue<string>());
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal(FakeCohere.InputTokens, result.Usage.PromptTokens);
        Assert.Equal(FakeCohere.OutputTokens, result.Usage.CompletionTokens);
    }

    [Fact]
    public async Task CompleteAsync_ToolCallAnswer_ReturnsToolCallsFinish()
    {
        _cohere.ReplyWithToolCall = true;

        var result = await _fixture.Cohere.CompleteAsync(
            Call($$"""{"model":"command-r-plus","messages":[{"role":"user","content":"Weather?"}],"tools":{{WeatherTool}}}"""), CancellationToken.None);

        var seen = Assert.Single(_cohere.Requests);
        Assert.Equal("get_weather", seen.Json["tools"]![0]!["function"]!["name"]!.GetValue<string>());
        var choice = result.Completion!["choices"]![0]!;
        Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal("get_weather_abc123", choice["message"]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", choice["message"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public async Task StreamAsync_TextAnswer_SendsStreamTrueAndEndsWithUsageChunk()
    {
        var chunks = await CollectAsync(await _fixture.Cohere.StreamAsync(
            Call("""{"model":"command-r-plus","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None));

        var seen = Assert.Single(_cohere.Requests);
        Assert.True(seen.Json["stream"]!.GetValue<bool>());
        Assert.Equal(_cohere.ReplyText, Text(chunks));
        Assert.Equal("stop", FinishReason(chunks));
        Assert.Equal("chatcmpl-cohere-msg-1", chunks[0]["id"]!.GetValue<string>());
        Assert.Equal(FakeCohere.InputTokens + FakeCohere.OutputTokens, chunks[^1]["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
    }

    [Fact]
    public async Task StreamAsync_ToolCall_AssemblesArgumentsAcrossDeltas()
    {
        _cohere.ReplyWithToolCall = true;

        var chunks = await CollectAsync(await _fixture.Cohere.StreamAsync(
            Call($$"""{"model":"command-r-plus","messages":[{"role":"user","content":"Weather?"}],"tools":{{WeatherTool}}}"""), CancellationToken.None));

        var calls = chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]?["tool_calls"]?[0]).Where(t => t is not null).ToList();
        Assert.Equal("get_weather", calls[0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", string.Concat(calls.Select(t => t!["function"]!["arguments"]!.GetValue<string>())));
        Assert.Equal("tool_calls", FinishReason(chunks));
    }

    [Fact]
    public async Task EmbedAsync_ListInput_PostsV2EmbedAndReturnsOpenAiListWithUsage()
    {
        var deployment = TestDeployments.Create(model: "cohere/embed-english-v3.0", apiBase: _cohere.BaseUrl, apiKey: "co-test-key");

        var result = await _fixture.Cohere.EmbedAsync(
            new ProviderCall(deployment, "embed-english-v3.0", Request("""{"model":"embed-english-v3.0","input":["a","b"]}"""), "embed"), CancellationToken.None);

        var seen = Assert.Single(_cohere.Requests);
        Assert.Equal("/v2/embed", seen.Path);
        Assert.Equal("search_document", seen.Json["input_type"]!.GetValue<string>());
        Assert.Equal("float", seen.Json["embedding_types"]![0]!.GetValue<string>());
        Assert.Equal(2, result.Completion!["data"]!.AsArray().Count);
        Assert.Equal(6, result.Usage.PromptTokens);
    }

    [Fact]
    public async Task CompleteAsync_TooManyTokens_ReturnsContextWindowExceeded()
    {
        _cohere.Failure = (400, """{"id":"e1","message":"too many tokens: total number of tokens in the prompt cannot exceed 128000 - received 130000"}""", null);

        var result = await _fixture.Cohere.CompleteAsync(Call("""{"model":"command-r-plus","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None);

        Assert.Equal(ProviderErrorClass.ContextWindowExceeded, result.Error?.Class);
    }
}
