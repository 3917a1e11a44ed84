using System.Text.Json.Nodes;
using Broker.Ingress.Caching;

namespace Broker.Ingress.Tests.Caching;

public sealed class CompletionChunksTests
{
    private const string Completion = """
        {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o",
         "choices":[
           {"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"},
           {"index":1,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],
         "usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}
        """;

    [Fact]
    public void From_ThenAssemble_GivesTheSameCompletion()
    {
        var original = JsonNode.Parse(Completion)!.AsObject();
        var assembler = new CompletionAssembler();

        var chunks = CompletionChunks.From(original);
        foreach (var chunk in chunks)
        {
            assembler.Add(JsonNode.Parse(chunk)!.AsObject());
        }

        Assert.True(assembler.IsComplete);
        Assert.True(JsonNode.DeepEquals(original, assembler.Build()), assembler.Build().ToJsonString());
        var last = JsonNode.Parse(chunks[^1])!;
        Assert.Empty(last["choices"]!.AsArray());
        Assert.Equal(7, last["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void Assemble_PiecewiseDeltas_JoinsTextAndArguments()
    {
        var assembler = new CompletionAssembler();
        string[] chunks =
        [
            """{"id":"c","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{"content":"Hel"}}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{"content":"lo","tool_calls":[{"index":0,"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}""",
            """{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""",
        ];

        foreach (var chunk in chunks)
        {
            Assert.False(assembler.IsComplete);
            assembler.Add(JsonNode.Parse(chunk)!.AsObject());
        }

        var message = assembler.Build()["choices"]![0]!["message"]!;
        Assert.Equal("Hello", message["content"]!.GetValue<string>());
        Assert.Equal("{\"a\":1}", message["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
        Assert.True(assembler.IsComplete);
    }
}
