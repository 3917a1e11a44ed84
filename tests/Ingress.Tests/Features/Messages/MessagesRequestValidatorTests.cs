using System.Text.Json.Nodes;
using Broker.Ingress.Features.Messages;

namespace Broker.Ingress.Tests.Features.Messages;

public sealed class MessagesRequestValidatorTests
{
    private static AnthropicErrorResult? Validate(string json, bool requireMaxTokens = true) =>
        MessagesRequestValidator.Validate(JsonNode.Parse(json)!.AsObject(), requireMaxTokens);

    [Theory]
    [InlineData("""{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}""", "model: Field required")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}]}""", "max_tokens: Field required")]
    [InlineData("""{"model":"m","max_tokens":5}""", "messages: Field required")]
    [InlineData("""{"model":"m","max_tokens":"5","messages":[{"role":"user","content":"x"}]}""", "max_tokens:")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":"hi"}""", "messages: Input should be a valid list")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[{"role":"wizard","content":"x"}]}""", "messages.0.role:")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[{"role":"user"}]}""", "messages.0.content:")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[]}""", "messages:")]
    public void Validate_BadBody_Returns400NamingTheField(string json, string messageStart)
    {
        var error = Validate(json);

        Assert.NotNull(error);
        Assert.Equal(400, error!.StatusCode);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.StartsWith(messageStart, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ClaudeCodeShapes_AreAccepted()
    {
        Assert.Null(Validate("""
            {"model":"claude-opus-4-1","max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"effort":"high"},
             "metadata":{"user_id":"u"},"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"system","content":"s2"},{"role":"user","content":[{"type":"text","text":"hi"}]}],
             "tools":[{"name":"t","input_schema":{"type":"object"}}],"stream":true}
            """));
    }

    [Fact]
    public void Validate_CountTokensWithoutMaxTokens_IsAccepted() =>
        Assert.Null(Validate("""{"model":"m","messages":[{"role":"user","content":"x"}]}""", requireMaxTokens: false));
}
