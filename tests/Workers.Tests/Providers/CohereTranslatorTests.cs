using System.Text.Json.Nodes;
using Broker.Workers.Providers.Cohere;

namespace Broker.Workers.Tests.Providers;

public sealed class CohereTranslatorTests
{
    [Fact]
    public void ToCohereRequest_Conversation_KeepsRolesToolCallsAndRenamesSampling()
    {
        var openAi = JsonNode.Parse("""
        {"model":"command-r","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","content":"Weather in Paris?"},
          {"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"21C"}
        ],"temperature":0.3,"top_p":0.8,"max_completion_tokens":50,"stop":["END"],"response_format":{"type":"json_object"},
         "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
         "tool_choice":"required"}
        """)!.AsObject();

        var cohere = CohereTranslator.ToCohereRequest(openAi, "command-r");

        Assert.Equal("command-r", cohere["model"]!.GetValue<string>());
        var messages = cohere["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "tool"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.False(messages[2]!.AsObject().ContainsKey("content"));
        Assert.Equal("get_weather", messages[2]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", messages[2]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
        Assert.Equal("call_1", messages[3]!["tool_call_id"]!.GetValue<string>());
        Assert.Equal("21C", messages[3]!["content"]!.GetValue<string>());
        Assert.Equal(0.3, cohere["temperature"]!.GetValue<double>());
        Assert.Equal(0.8, cohere["p"]!.GetValue<double>());
        Assert.Equal(50, cohere["max_tokens"]!.GetValue<int>());
        Assert.Equal("END", cohere["stop_sequences"]![0]!.GetValue<string>());
        Assert.Equal("json_object", cohere["response_format"]!["type"]!.GetValue<string>());
        Assert.Equal("function", cohere["tools"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("REQUIRED", cohere["tool_choice"]!.GetValue<string>());
        Assert.False(cohere.ContainsKey("top_p"));
    }

    [Fact]
    public void ToOpenAiCompletion_ToolCallAnswer_MapsToolCallsFinishAndTokenUsage()
    {
        var cohere = JsonNode.Parse("""
        {"id":"abc","finish_reason":"TOOL_CALL","message":{"role":"assistant","tool_plan":"look up",
          "tool_calls":[{"id":"get_weather_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
         "usage":{"billed_units":{"input_tokens":5,"output_tokens":2},"tokens":{"input_tokens":50,"output_tokens":20}}}
        """)!.AsObject();

        var (completion, usage) = CohereTranslator.ToOpenAiCompletion(cohere, "my-cohere", 0);

        var choice = completion["choices"]![0]!;
        Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal("get_weather_1", choice["message"]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Null(choice["message"]!["content"]);
        Assert.Equal(50, usage.PromptTokens);
        Assert.Equal(20, usage.CompletionTokens);
        Assert.Equal("chatcmpl-abc", completion["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("COMPLETE", "stop")]
    [InlineData("STOP_SEQUENCE", "stop")]
    [InlineData("MAX_TOKENS", "length")]
    [InlineData("TOOL_CALL", "tool_calls")]
    public void FinishReason_CohereReason_MapsToOpenAi(string reason, string expected) =>
        Assert.Equal(expected, CohereTranslator.FinishReason(reason));

    [Fact]
    public void ReadUsage_OnlyBilledUnits_FallsBackToThem()
    {
        var usage = CohereTranslator.ReadUsage(JsonNode.Parse("""{"billed_units":{"input_tokens":7,"output_tokens":3}}""")!.AsObject());

        Assert.Equal(7, usage.PromptTokens);
        Assert.Equal(3, usage.CompletionTokens);
    }

    [Fact]
    public void Translate_ToolCallStream_YieldsIndexedToolCallDeltasFinishAndUsage()
    {
        var translator = new CohereStreamTranslator("m", 0);
        var events = new[]
        {
            """{"type":"message-start","id":"m1","delta":{"message":{"role":"assistant"}}}""",
            """{"type":"tool-plan-delta","delta":{"message":{"tool_plan":"I will"}}}""",
            """{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"t1","type":"function","function":{"name":"get_weather","arguments":""}}}}}""",
            """{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\"city\":"}}}}}""",
            """{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"\"Paris\"}"}}}}}""",
            """{"type":"tool-call-end","index":0}""",
            """{"type":"message-end","delta":{"finish_reason":"TOOL_CALL","usage":{"tokens":{"input_tokens":8,"output_tokens":3}}}}""",
        };

        var chunks = events.SelectMany(e => translator.Translate("", JsonNode.Parse(e)!.AsObject())).ToList();

        Assert.Equal("chatcmpl-m1", chunks[0]["id"]!.GetValue<string>());
        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        var start = chunks[1]["choices"]![0]!["delta"]!["tool_calls"]![0]!;
        Assert.Equal(0, start["index"]!.GetValue<int>());
        Assert.Equal("t1", start["id"]!.GetValue<string>());
        Assert.Equal("get_weather", start["function"]!["name"]!.GetValue<string>());
        var arguments = string.Concat(chunks.Skip(2).Take(2).Select(c => c["choices"]![0]!["delta"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>()));
        Assert.Equal("""{"city":"Paris"}""", arguments);
        Assert.Equal("tool_calls", chunks[4]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Equal(11, chunks[5]["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.True(translator.Ended);
    }

    [Fact]
    public void Finish_StreamClosedBeforeMessageEnd_Throws()
    {
        var translator = new CohereStreamTranslator("m", 0);
        _ = translator.Translate("", JsonNode.Parse("""{"type":"message-start","id":"m1"}""")!.AsObject()).ToList();

        Assert.Throws<Broker.Workers.Providers.ProviderStreamException>(translator.Finish);
    }
}
