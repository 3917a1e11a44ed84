using Broker.Contracts.Inference;
using Broker.TestKit;
using Broker.Workers.Providers;
using static Broker.Workers.Tests.Providers.NativeProviderFixture;

namespace Broker.Workers.Tests.Providers;

/// <summary>The Gemini provider against a real HTTP fake on 127.0.0.1.</summary>
public sealed class GeminiProviderTests : IAsyncLifetime
{
    private FakeGemini _gemini = null!;
    private NativeProviderFixture _fixture = null!;

    public async Task InitializeAsync()
    {
        _gemini = await FakeGemini.StartAsync();
        _fixture = new NativeProviderFixture();
    }

    public async Task DisposeAsync()
    {
        await _fixture.DisposeAsync();
        await _gemini.DisposeAsync();
    }

    private ProviderCall Call(string json) =>
        new(TestDeployments.Create(model: "gemini/gemini-2.0-flash", apiBase: _gemini.BaseUrl, apiKey: "AIza-test-key"), "gemini-2.0-flash", Request(json), "my-gemini");

    [Fact]
    public async Task CompleteAsync_TextAnswer_PostsGenerateContentWithKeyHeaderAndReturnsOpenAiCompletion()
    {
        var result = await _fixture.Gemini.CompleteAsync(
            Call("""{"model":"gemini-2.0-flash","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":64}"""),
            CancellationToken.None);

        Assert.True(result.Succeeded, result.Error?.Message);
        var seen = Assert.Single(_gemini.Requests);
        Assert.Equal("/v1beta/models/gemini-2.0-flash:generateContent", seen.Path);
        Assert.Equal("AIza-test-key", seen.Headers["x-goog-api-key"]);
        Assert.False(seen.Headers.ContainsKey("authorization"));
        Assert.Equal("Be brief.", seen.Json["systemInstruction"]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("Hi", seen.Json["contents"]![0]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(64, seen.Json["generationConfig"]!["maxOutputTokens"]!.GetValue<int>());
        var completion = result.Completion!;
        Assert.Equal("chat.completion", completion["object"]!.GetValue<string>());
        Assert.Equal("my-gemini", completion["model"]!.GetValue<string>());
        Assert.Equal(_gemini.ReplyText, completion["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal("stop", completion["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Equal(FakeGemini.PromptTokens, result.Usage.PromptTokens);
        Assert.Equal(FakeGemini.CandidateTokens, result.Usage.CompletionTokens);
        Assert.Equal(_fixture.Clock.GetUtcNow().ToUnixTimeSeconds(), completion["created"]!.GetValue<long>());
    }

    [Fact]
    public async Task CompleteAsync_ToolCallAnswer_SendsDeclarationsAndReturnsToolCalls()
    {
        _gemini.ReplyWithToolCall = true;

        var result = await _fixture.Gemini.CompleteAsync(
            Call($$"""{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":{{WeatherTool}}}"""),
            CancellationToken.None);

        var seen = Assert.Single(_gemini.Requests);
        Assert.Equal("get_weather", seen.Json["tools"]![0]!["functionDeclarations"]![0]!["name"]!.GetValue<string>());
        var choice = result.Completion!["choices"]![0]!;
        Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal("get_weather", choice["message"]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", choice["message"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public async Task StreamAsync_TextAnswer_UsesSseEndpointAndEndsWithFinishAndUsageChunks()
    {
        var stream = await _fixture.Gemini.StreamAsync(Call("""{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None);
        var chunks = await CollectAsync(stream);

        var seen = Assert.Single(_gemini.Requests);
        Assert.Equal("/v1beta/models/gemini-2.0-flash:streamGenerateContent", seen.Path);
        Assert.Equal("?alt=sse", seen.Query);
        Assert.Equal(_gemini.ReplyText, Text(chunks));
        Assert.Equal("stop", FinishReason(chunks));
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));
        var last = chunks[^1];
        Assert.Empty(last["choices"]!.AsArray());
        Assert.Equal(FakeGemini.PromptTokens + FakeGemini.CandidateTokens, last["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task EmbedAsync_ListInput_PostsBatchEmbedContentsAndReturnsOpenAiList()
    {
        var deployment = TestDeployments.Create(model: "gemini/text-embedding-004", apiBase: _gemini.BaseUrl, apiKey: "AIza-test-key");

        var result = await _fixture.Gemini.EmbedAsync(
            new ProviderCall(deployment, "text-embedding-004", Request("""{"model":"text-embedding-004","input":["a","b"]}"""), "embed"), CancellationToken.None);

        var seen = Assert.Single(_gemini.Requests);
        Assert.Equal("/v1beta/models/text-embedding-004:batchEmbedContents", seen.Path);
        Assert.Equal(2, seen.Json["requests"]!.AsArray().Count);
        var data = result.Completion!["data"]!.AsArray();
        Assert.Equal(2, data.Count);
        Assert.Equal(1, data[1]!["index"]!.GetValue<int>());
        Assert.Equal(3, data[1]!["embedding"]!.AsArray().Count);
    }

    [Fact]
    public async Task CompleteAsync_ResourceExhausted_ReturnsRateLimitWithRetryAfter()
    {
        _gemini.Failure = (429, """{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}""",
            new Dictionary<string, string> { ["Retry-After"] = "7" });

        var result = await _fixture.Gemini.CompleteAsync(Call("""{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None);

        Assert.Equal(ProviderErrorClass.RateLimit, result.Error?.Class);
        Assert.Equal(7, result.Error?.RetryAfterSeconds);
        Assert.Contains("exhausted", result.Error?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteAsync_InvalidApiKey_ReturnsAuthentication401()
    {
        _gemini.Failure = (400, """{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID"}]}}""", null);

        var result = await _fixture.Gemini.CompleteAsync(Call("""{"model":"gemini-2.0-flash","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None);

        Assert.Equal(ProviderErrorClass.Authentication, result.Error?.Class);
        Assert.Equal(401, result.Error?.StatusCode);
    }
}
