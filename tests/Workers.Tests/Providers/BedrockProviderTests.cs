using System.Text.Json;
using System.Text.RegularExpressions;
using Broker.Contracts.Inference;
using Broker.TestKit;
using Broker.Workers.Providers;
using Broker.Workers.Providers.Bedrock;
using static Broker.Workers.Tests.Providers.NativeProviderFixture;

namespace Broker.Workers.Tests.Providers;

/// <summary>The Bedrock provider against a real HTTP fake on 127.0.0.1 (api_base stands in for the regional endpoint).</summary>
public sealed partial class BedrockProviderTests : IAsyncLifetime
{
    private const string ModelId = "anthropic.claude-3-5-sonnet-20240620-v1:0";
    private FakeBedrock _bedrock = null!;
    private NativeProviderFixture _fixture = null!;

    public async Task InitializeAsync()
    {
        _bedrock = await FakeBedrock.StartAsync();
        _fixture = new NativeProviderFixture(new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = "AKIAENVIRONMENT",
            ["AWS_SECRET_ACCESS_KEY"] = "env-secret",
            ["AWS_REGION"] = "us-west-2",
        });
    }

    public async Task DisposeAsync()
    {
        await _fixture.DisposeAsync();
        await _bedrock.DisposeAsync();
    }

    private static Dictionary<string, JsonElement> Params(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;

    private ProviderCall Call(string json, string? defaults = null)
    {
        var deployment = TestDeployments.Create(model: "bedrock/" + ModelId, apiBase: _bedrock.BaseUrl, apiKey: null,
            defaults: Params(defaults ?? """{"aws_access_key_id":"AKIAPARAMS","aws_secret_access_key":"params-secret","aws_region_name":"eu-central-1"}"""));
        var request = Request(json);
        foreach (var (key, value) in deployment.DefaultParams)
        {
            request[key] = System.Text.Json.Nodes.JsonNode.Parse(value.GetRawText());
        }

        return new ProviderCall(deployment, ModelId, request, "claude-bedrock");
    }

    [Fact]
    public async Task CompleteAsync_TextAnswer_PostsSignedConverseWithoutAwsParams()
    {
        var result = await _fixture.Bedrock.CompleteAsync(
            Call("""{"model":"x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":50}"""), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error?.Message);
        var seen = Assert.Single(_bedrock.Requests);
        Assert.Equal("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", seen.RawPath);
        Assert.Equal("20240501T100000Z", seen.Headers["x-amz-date"]);
        var authorization = seen.Headers["authorization"];
        Assert.Matches(AuthorizationShape(), authorization);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIAPARAMS/20240501/eu-central-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, ", authorization, StringComparison.Ordinal);
        // the signature is right for the bytes that arrived, host and encoded path included
        var expected = AwsSigV4.Authorization("POST", new Uri("http://" + seen.Headers["host"] + seen.RawTarget), seen.Body,
            new AwsCredentials("AKIAPARAMS", "params-secret"), "eu-central-1", "bedrock", "20240501T100000Z");
        Assert.Equal(expected, authorization);
        Assert.DoesNotContain("aws_", System.Text.Encoding.UTF8.GetString(seen.Body), StringComparison.Ordinal);
        Assert.DoesNotContain("params-secret", System.Text.Encoding.UTF8.GetString(seen.Body), StringComparison.Ordinal);
        Assert.Equal("Be brief.", seen.Json["system"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(50, seen.Json["inferenceConfig"]!["maxTokens"]!.GetValue<int>());
        var choice = result.Completion!["choices"]![0]!;
        Assert.Equal(_bedrock.ReplyText, choice["message"]!["content"]!.GetValue<string>());
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal(FakeBedrock.InputTokens, result.Usage.PromptTokens);
        Assert.Equal(FakeBedrock.OutputTokens, result.Usage.CompletionTokens);
        Assert.Equal("claude-bedrock", result.Completion["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompleteAsync_NoParamsCredentials_UsesEnvironmentAndSessionlessRegion()
    {
        var result = await _fixture.Bedrock.CompleteAsync(Call("""{"model":"x","messages":[{"role":"user","content":"Hi"}]}""", "{}"), CancellationToken.None);

        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIAENVIRONMENT/20240501/us-west-2/bedrock/aws4_request", Assert.Single(_bedrock.Requests).Headers["authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteAsync_SessionToken_SignsAndSendsIt()
    {
        await _fixture.Bedrock.CompleteAsync(Call("""{"model":"x","messages":[{"role":"user","content":"Hi"}]}""",
            """{"aws_access_key_id":"ASIATEMP","aws_secret_access_key":"s","aws_session_token":"tok-123"}"""), CancellationToken.None);

        var seen = Assert.Single(_bedrock.Requests);
        Assert.Equal("tok-123", seen.Headers["x-amz-security-token"]);
        Assert.Contains("SignedHeaders=host;x-amz-date;x-amz-security-token,", seen.Headers["authorization"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompleteAsync_NoCredentialsAnywhere_ReturnsAuthenticationWithoutCalling()
    {
        await using var bare = new NativeProviderFixture();

        var result = await bare.Bedrock.CompleteAsync(Call("""{"model":"x","messages":[{"role":"user","content":"Hi"}]}""", "{}"), CancellationToken.None);

        Assert.Equal(ProviderErrorClass.Authentication, result.Error?.Class);
        Assert.Empty(_bedrock.Requests);
    }

    [Fact]
    public async Task CompleteAsync_ToolUseAnswer_ReturnsToolCalls()
    {
        _bedrock.ReplyWithToolCall = true;

        var result = await _fixture.Bedrock.CompleteAsync(
            Call($$"""{"model":"x","messages":[{"role":"user","content":"Weather?"}],"tools":{{WeatherTool}},"tool_choice":"required"}"""), CancellationToken.None);

        var seen = Assert.Single(_bedrock.Requests);
        Assert.Equal("get_weather", seen.Json["toolConfig"]!["tools"]![0]!["toolSpec"]!["name"]!.GetValue<string>());
        Assert.NotNull(seen.Json["toolConfig"]!["toolChoice"]!["any"]);
        var choice = result.Completion!["choices"]![0]!;
        Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal("tooluse_abc123", choice["message"]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", choice["message"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public async Task StreamAsync_TextAnswer_DecodesEventStreamIntoChunksAndUsage()
    {
        var chunks = await CollectAsync(await _fixture.Bedrock.StreamAsync(Call("""{"model":"x","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None));

        var seen = Assert.Single(_bedrock.Requests);
        Assert.Equal("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", seen.RawPath);
        Assert.Matches(AuthorizationShape(), seen.Headers["authorization"]);
        Assert.Equal(_bedrock.ReplyText, Text(chunks));
        Assert.Equal("stop", FinishReason(chunks));
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal(FakeBedrock.InputTokens + FakeBedrock.OutputTokens, chunks[^1]["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task StreamAsync_ToolUse_AssemblesToolCall()
    {
        _bedrock.ReplyWithToolCall = true;

        var chunks = await CollectAsync(await _fixture.Bedrock.StreamAsync(
            Call($$"""{"model":"x","messages":[{"role":"user","content":"Weather?"}],"tools":{{WeatherTool}}}"""), CancellationToken.None));

        var calls = chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!["delta"]?["tool_calls"]?[0]).Where(t => t is not null).ToList();
        Assert.Equal("tooluse_abc123", calls[0]!["id"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", string.Concat(calls.Select(t => t!["function"]!["arguments"]!.GetValue<string>())));
        Assert.Equal("tool_calls", FinishReason(chunks));
    }

    [Fact]
    public async Task StreamAsync_ThrottlingExceptionMidStream_ThrowsRateLimitStreamError()
    {
        _bedrock.StreamException = "throttlingException";
        var stream = await _fixture.Bedrock.StreamAsync(Call("""{"model":"x","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None);

        var error = await Assert.ThrowsAsync<ProviderStreamException>(() => CollectAsync(stream));

        Assert.Equal(ProviderErrorClass.RateLimit, error.Error.Class);
    }

    [Theory]
    [InlineData(429, "ThrottlingException", """{"message":"Too many requests, please wait before trying again."}""", ProviderErrorClass.RateLimit)]
    [InlineData(400, "ValidationException", """{"message":"Input is too long for requested model."}""", ProviderErrorClass.ContextWindowExceeded)]
    [InlineData(403, "AccessDeniedException", """{"message":"You don't have access to the model with the specified model ID."}""", ProviderErrorClass.Authentication)]
    [InlineData(400, "ValidationException", """{"message":"The model returned the following errors: malformed input"}""", ProviderErrorClass.BadRequest)]
    public async Task CompleteAsync_AwsError_IsClassified(int status, string errorType, string body, ProviderErrorClass expected)
    {
        _bedrock.Failure = (status, body, new Dictionary<string, string> { ["x-amzn-ErrorType"] = errorType + ":http://internal.amazon.com/coral/com.amazon.bedrock/" });

        var result = await _fixture.Bedrock.CompleteAsync(Call("""{"model":"x","messages":[{"role":"user","content":"Hi"}]}"""), CancellationToken.None);

        Assert.Equal(expected, result.Error?.Class);
        Assert.False(string.IsNullOrWhiteSpace(result.Error?.Message));
    }

    [GeneratedRegex("^AWS4-HMAC-SHA256 Credential=[A-Z0-9]+/[0-9]{8}/[a-z0-9-]+/bedrock/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$")]
    private static partial Regex AuthorizationShape();
}
