using System.Text.Json.Nodes;
using Broker.Workers.Providers.Gemini;

namespace Broker.Workers.Tests.Providers;

public sealed class GeminiTranslatorTests
{
    [Fact]
    public void ToGeminiRequest_Conversation_MapsSystemRolesImagesAndToolTurns()
    {
        var openAi = JsonNode.Parse("""
        {"model":"gemini-2.0-flash","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21}"},
          {"role":"tool","tool_call_id":"call_1","content":"sunny"}
        ]}
        """)!.AsObject();

        var gemini = GeminiTranslator.ToGeminiRequest(openAi);

        Assert.Equal("Be brief.", gemini["systemInstruction"]!["parts"]![0]!["text"]!.GetValue<string>());
        var contents = gemini["contents"]!.AsArray();
        Assert.Equal(3, contents.Count);
        Assert.Equal("user", contents[0]!["role"]!.GetValue<string>());
        Assert.Equal("What is this?", contents[0]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("image/png", contents[0]!["parts"]![1]!["inlineData"]!["mimeType"]!.GetValue<string>());
        Assert.Equal("iVBORw0KGgo=", contents[0]!["parts"]![1]!["inlineData"]!["data"]!.GetValue<string>());
        Assert.Equal("model", contents[1]!["role"]!.GetValue<string>());
        Assert.Equal("get_weather", contents[1]!["parts"]![0]!["functionCall"]!["name"]!.GetValue<string>());
        Assert.Equal("Paris", contents[1]!["parts"]![0]!["functionCall"]!["args"]!["city"]!.GetValue<string>());
        // both tool results in one user turn, named after the call they answer
        Assert.Equal("user", contents[2]!["role"]!.GetValue<string>());
        var responses = contents[2]!["parts"]!.AsArray();
        Assert.Equal(2, responses.Count);
        Assert.Equal("get_weather", responses[0]!["functionResponse"]!["name"]!.GetValue<string>());
        Assert.Equal(21, responses[0]!["functionResponse"]!["response"]!["temp"]!.GetValue<int>());
        Assert.Equal("sunny", responses[1]!["functionResponse"]!["response"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public void ToGeminiRequest_SamplingJsonModeAndTools_FillGenerationConfigAndFunctionDeclarations()
    {
        var openAi = JsonNode.Parse("""
        {"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":0.9,"max_tokens":100,"stop":"END",
         "response_format":{"type":"json_object"},
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","additionalProperties":false,"properties":{"city":{"type":"string"}},"required":["city"]}}}],
         "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
        """)!.AsObject();

        var gemini = GeminiTranslator.ToGeminiRequest(openAi);

        var config = gemini["generationConfig"]!;
        Assert.Equal(0.2, config["temperature"]!.GetValue<double>());
        Assert.Equal(0.9, config["topP"]!.GetValue<double>());
        Assert.Equal(100, config["maxOutputTokens"]!.GetValue<int>());
        Assert.Equal("END", config["stopSequences"]![0]!.GetValue<string>());
        Assert.Equal("application/json", config["responseMimeType"]!.GetValue<string>());
        var declaration = gemini["tools"]![0]!["functionDeclarations"]![0]!;
        Assert.Equal("get_weather", declaration["name"]!.GetValue<string>());
        Assert.Equal("Weather", declaration["description"]!.GetValue<string>());
        Assert.Null(declaration["parameters"]!["additionalProperties"]);
        Assert.Equal("string", declaration["parameters"]!["properties"]!["city"]!["type"]!.GetValue<string>());
        Assert.Equal("ANY", gemini["toolConfig"]!["functionCallingConfig"]!["mode"]!.GetValue<string>());
        Assert.Equal("get_weather", gemini["toolConfig"]!["functionCallingConfig"]!["allowedFunctionNames"]![0]!.GetValue<string>());
        Assert.False(gemini.ContainsKey("model"));
    }

    [Fact]
    public void ToOpenAiCompletion_TextAnswer_MapsContentUsageAndStop()
    {
        var gemini = JsonNode.Parse("""
        {"candidates":[{"content":{"role":"model","parts":[{"text":"Hello "},{"text":"there"}]},"finishReason":"STOP"}],
         "usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":6,"totalTokenCount":18},"responseId":"r1"}
        """)!.AsObject();

        var (completion, usage) = GeminiTranslator.ToOpenAiCompletion(gemini, "my-gemini", 1_700_000_000);

        Assert.Equal("chatcmpl-r1", completion["id"]!.GetValue<string>());
        Assert.Equal("my-gemini", completion["model"]!.GetValue<string>());
        Assert.Equal("Hello there", completion["choices"]![0]!["message"]!["content"]!.GetValue<string>());
        Assert.Equal("stop", completion["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Equal(12, usage.PromptTokens);
        Assert.Equal(6, usage.CompletionTokens);
        Assert.Equal(18, completion["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void ToOpenAiCompletion_FunctionCall_ReturnsToolCallsFinish()
    {
        var gemini = JsonNode.Parse("""
        {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},"finishReason":"STOP"}]}
        """)!.AsObject();

        var (completion, _) = GeminiTranslator.ToOpenAiCompletion(gemini, "m", 0);

        var choice = completion["choices"]![0]!;
        Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
        var call = choice["message"]!["tool_calls"]![0]!;
        Assert.StartsWith("call_", call["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("get_weather", call["function"]!["name"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", call["function"]!["arguments"]!.GetValue<string>());
        Assert.Null(choice["message"]!["content"]);
    }

    [Theory]
    [InlineData("MAX_TOKENS", "length")]
    [InlineData("SAFETY", "content_filter")]
    [InlineData("RECITATION", "content_filter")]
    [InlineData("STOP", "stop")]
    public void FinishReason_GeminiReason_MapsToOpenAi(string reason, string expected) =>
        Assert.Equal(expected, GeminiTranslator.FinishReason(reason));

    [Fact]
    public void ToOpenAiCompletion_PromptBlocked_ReturnsContentFilterWithoutContent()
    {
        var gemini = JsonNode.Parse("""{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":5}}""")!.AsObject();

        var (completion, usage) = GeminiTranslator.ToOpenAiCompletion(gemini, "m", 0);

        Assert.Equal("content_filter", completion["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Null(completion["choices"]![0]!["message"]!["content"]);
        Assert.Equal(5, usage.PromptTokens);
    }

    [Fact]
    public void Translate_StreamedResponses_YieldRoleTextFinishAndUsageChunks()
    {
        var translator = new GeminiStreamTranslator("m", 0);
        var chunks = new List<JsonObject>();
        chunks.AddRange(translator.Translate(JsonNode.Parse("""{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"}}],"responseId":"r2"}""")!.AsObject()));
        chunks.AddRange(translator.Translate(JsonNode.Parse("""
            {"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"},"finishReason":"MAX_TOKENS"}],
             "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2}}
            """)!.AsObject()));
        chunks.AddRange(translator.Finish());

        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        Assert.Equal("Hel", chunks[1]["choices"]![0]!["delta"]!["content"]!.GetValue<string>());
        Assert.Equal("lo", chunks[2]["choices"]![0]!["delta"]!["content"]!.GetValue<string>());
        Assert.Equal("length", chunks[3]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Empty(chunks[4]["choices"]!.AsArray());
        Assert.Equal(5, chunks[4]["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.All(chunks, c => Assert.Equal("chatcmpl-r2", c["id"]!.GetValue<string>()));
        Assert.Equal(5, chunks.Count);
    }

    [Fact]
    public void ToBatchEmbedRequest_ListInputWithDimensions_OneRequestPerText()
    {
        var openAi = JsonNode.Parse("""{"model":"text-embedding-004","input":["a","b"],"dimensions":256}""")!.AsObject();

        var body = GeminiTranslator.ToBatchEmbedRequest(openAi, "text-embedding-004");

        var requests = body["requests"]!.AsArray();
        Assert.Equal(2, requests.Count);
        Assert.Equal("models/text-embedding-004", requests[0]!["model"]!.GetValue<string>());
        Assert.Equal("b", requests[1]!["content"]!["parts"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(256, requests[0]!["outputDimensionality"]!.GetValue<int>());
    }
}
