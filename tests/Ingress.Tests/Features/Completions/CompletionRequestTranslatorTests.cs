using System.Text.Json.Nodes;
using Broker.Ingress.Features.Completions;

namespace Broker.Ingress.Tests.Features.Completions;

public sealed class CompletionRequestTranslatorTests
{
    private static IReadOnlyList<JsonObject> Translate(string json)
    {
        var (chats, error) = CompletionRequestTranslator.Translate(JsonNode.Parse(json)!.AsObject());
        Assert.True(error is null, error?.Error.Error.Message);
        return chats!;
    }

    [Fact]
    public void Translate_StringPrompt_OneUserMessageWithOptions()
    {
        var chat = Assert.Single(Translate("""
            {"model":"m","prompt":"Once upon","max_tokens":16,"temperature":0.7,"top_p":1,"stop":"\n","n":2,"user":"u","seed":3,"logprobs":null,"echo":false,"suffix":null,"best_of":1}
            """));

        Assert.Equal("""[{"role":"user","content":"Once upon"}]""", chat["messages"]!.ToJsonString());
        Assert.Equal(16, chat["max_tokens"]!.GetValue<int>());
        Assert.Equal(0.7, chat["temperature"]!.GetValue<double>());
        Assert.Equal("\n", chat["stop"]!.GetValue<string>());
        Assert.Equal(2, chat["n"]!.GetValue<int>());
        Assert.Equal("u", chat["user"]!.GetValue<string>());
        Assert.False(chat.ContainsKey("prompt"));
        Assert.False(chat.ContainsKey("echo"));
        Assert.False(chat.ContainsKey("logprobs"));
    }

    [Fact]
    public void Translate_PromptArray_OneChatRequestPerPrompt()
    {
        var chats = Translate("""{"model":"m","prompt":["a","b"]}""");

        Assert.Equal(["a", "b"], chats.Select(c => c["messages"]![0]!["content"]!.GetValue<string>()));
    }

    [Fact]
    public void Translate_Stream_AsksForUsage()
    {
        var chat = Assert.Single(Translate("""{"model":"m","prompt":"a","stream":true}"""));

        Assert.True(chat["stream"]!.GetValue<bool>());
        Assert.True(chat["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("""{"prompt":"a"}""", "model", "missing_required_parameter")]
    [InlineData("""{"model":"m"}""", "prompt", "missing_required_parameter")]
    [InlineData("""{"model":"m","prompt":[]}""", "prompt", "empty_array")]
    [InlineData("""{"model":"m","prompt":[1,2]}""", "prompt", "unsupported_value")]
    [InlineData("""{"model":"m","prompt":[[1],[2]]}""", "prompt", "unsupported_value")]
    [InlineData("""{"model":"m","prompt":["a",1]}""", "prompt", "invalid_type")]
    [InlineData("""{"model":"m","prompt":["a","b"],"stream":true}""", "prompt", "unsupported_value")]
    [InlineData("""{"model":"m","prompt":"a","echo":true}""", "echo", "unsupported_value")]
    [InlineData("""{"model":"m","prompt":"a","suffix":"end"}""", "suffix", "unsupported_value")]
    [InlineData("""{"model":"m","prompt":"a","best_of":3}""", "best_of", "unsupported_value")]
    [InlineData("""{"model":"m","prompt":"a","logprobs":2}""", "logprobs", "unsupported_value")]
    [InlineData("""{"model":"m","prompt":"a","max_tokens":1.5}""", "max_tokens", "invalid_type")]
    [InlineData("""{"model":"m","prompt":"a","stop":5}""", "stop", "invalid_type")]
    public void Translate_InvalidOrUnsupported_Returns400WithParam(string json, string param, string code)
    {
        var (chats, error) = CompletionRequestTranslator.Translate(JsonNode.Parse(json)!.AsObject());

        Assert.Null(chats);
        Assert.Equal(400, error!.StatusCode);
        Assert.Equal(param, error.Error.Error.Param);
        Assert.Equal(code, error.Error.Error.Code);
    }
}
