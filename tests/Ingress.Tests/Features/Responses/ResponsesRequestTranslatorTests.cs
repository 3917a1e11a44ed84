using System.Text.Json.Nodes;
using Broker.Ingress.Features.Responses;

namespace Broker.Ingress.Tests.Features.Responses;

public sealed class ResponsesRequestTranslatorTests
{
    private static JsonObject Translate(string json)
    {
        var (chat, error) = ResponsesRequestTranslator.Translate(JsonNode.Parse(json)!.AsObject());
        Assert.True(error is null, error?.Error.Error.Message);
        return chat!;
    }

    private static (string? Param, string? Code) Reject(string json)
    {
        var (chat, error) = ResponsesRequestTranslator.Translate(JsonNode.Parse(json)!.AsObject());
        Assert.Null(chat);
        Assert.NotNull(error);
        Assert.Equal(400, error!.StatusCode);
        Assert.Equal("invalid_request_error", error.Error.Error.Type);
        return (error.Error.Error.Param, error.Error.Error.Code);
    }

    [Fact]
    public void Translate_StringInputWithInstructions_SystemThenUserMessage()
    {
        var chat = Translate("""{"model":"m","instructions":"Be brief.","input":"Hi","max_output_tokens":64,"temperature":0.5,"top_p":0.9,"user":"u1","metadata":{"k":"v"},"store":true}""");

        Assert.Equal("""[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]""", chat["messages"]!.ToJsonString());
        Assert.Equal(64, chat["max_tokens"]!.GetValue<int>());
        Assert.Equal(0.5, chat["temperature"]!.GetValue<double>());
        Assert.Equal(0.9, chat["top_p"]!.GetValue<double>());
        Assert.Equal("u1", chat["user"]!.GetValue<string>());
        Assert.Equal("m", chat["model"]!.GetValue<string>());
        Assert.False(chat.ContainsKey("metadata"));
        Assert.False(chat.ContainsKey("store"));
        Assert.False(chat.ContainsKey("stream"));
    }

    [Fact]
    public void Translate_MessageItemsWithParts_ChatContentParts()
    {
        var chat = Translate("""
            {"model":"m","input":[
              {"role":"developer","content":"Rules."},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"What is this?"},{"type":"input_image","image_url":"https://x/cat.png","detail":"low"}]},
              {"role":"assistant","content":[{"type":"output_text","text":"A cat.","annotations":[]}]},
              {"role":"user","content":[{"type":"input_text","text":"Sure?"}]}
            ]}
            """);

        var messages = chat["messages"]!.AsArray();
        Assert.Equal("""{"role":"developer","content":"Rules."}""", messages[0]!.ToJsonString());
        Assert.Equal(
            """{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://x/cat.png","detail":"low"}}]}""",
            messages[1]!.ToJsonString());
        Assert.Equal("""{"role":"assistant","content":"A cat."}""", messages[2]!.ToJsonString());
        Assert.Equal("""{"role":"user","content":"Sure?"}""", messages[3]!.ToJsonString());
    }

    [Fact]
    public void Translate_FunctionCallItems_AssistantToolCallsAndToolMessages()
    {
        var chat = Translate("""
            {"model":"m","input":[
              {"role":"user","content":"Weather in Paris and Rome?"},
              {"type":"reasoning","id":"rs_1","summary":[]},
              {"type":"function_call","id":"fc_1","call_id":"call_a","name":"weather","arguments":"{\"city\":\"Paris\"}"},
              {"type":"function_call","id":"fc_2","call_id":"call_b","name":"weather","arguments":"{\"city\":\"Rome\"}"},
              {"type":"function_call_output","call_id":"call_a","output":"sunny"},
              {"type":"function_call_output","call_id":"call_b","output":[{"type":"input_text","text":"rain"}]}
            ]}
            """);

        var messages = chat["messages"]!.AsArray();
        Assert.Equal(4, messages.Count);
        Assert.Equal(
            """{"role":"assistant","content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"weather","arguments":"{\u0022city\u0022:\u0022Paris\u0022}"}},{"id":"call_b","type":"function","function":{"name":"weather","arguments":"{\u0022city\u0022:\u0022Rome\u0022}"}}]}""",
            messages[1]!.ToJsonString());
        Assert.Equal("""{"role":"tool","tool_call_id":"call_a","content":"sunny"}""", messages[2]!.ToJsonString());
        Assert.Equal("""{"role":"tool","tool_call_id":"call_b","content":"rain"}""", messages[3]!.ToJsonString());
    }

    [Fact]
    public void Translate_FlatFunctionToolsAndChoice_NestedChatTools()
    {
        var chat = Translate("""
            {"model":"m","input":"hi","parallel_tool_calls":false,
             "tools":[{"type":"function","name":"weather","description":"Weather now","parameters":{"type":"object"},"strict":true}],
             "tool_choice":{"type":"function","name":"weather"}}
            """);

        Assert.Equal(
            """[{"type":"function","function":{"name":"weather","description":"Weather now","parameters":{"type":"object"},"strict":true}}]""",
            chat["tools"]!.ToJsonString());
        Assert.Equal("""{"type":"function","function":{"name":"weather"}}""", chat["tool_choice"]!.ToJsonString());
        Assert.False(chat["parallel_tool_calls"]!.GetValue<bool>());
        Assert.Equal("required", Translate("""{"model":"m","input":"hi","tool_choice":"required"}""")["tool_choice"]!.GetValue<string>());
    }

    [Fact]
    public void Translate_TextFormatAndReasoning_ResponseFormatAndEffort()
    {
        var schema = Translate("""
            {"model":"m","input":"hi","reasoning":{"effort":"low","summary":"auto"},
             "text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object"},"strict":true}}}
            """);
        var jsonObject = Translate("""{"model":"m","input":"hi","text":{"format":{"type":"json_object"}}}""");
        var plain = Translate("""{"model":"m","input":"hi","text":{"format":{"type":"text"}}}""");

        Assert.Equal("""{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}""", schema["response_format"]!.ToJsonString());
        Assert.Equal("low", schema["reasoning_effort"]!.GetValue<string>());
        Assert.Equal("""{"type":"json_object"}""", jsonObject["response_format"]!.ToJsonString());
        Assert.False(plain.ContainsKey("response_format"));
    }

    [Fact]
    public void Translate_Stream_AsksForUsage()
    {
        var chat = Translate("""{"model":"m","input":"hi","stream":true}""");

        Assert.True(chat["stream"]!.GetValue<bool>());
        Assert.True(chat["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("""{"input":"hi"}""", "model", "missing_required_parameter")]
    [InlineData("""{"model":"m"}""", "input", "missing_required_parameter")]
    [InlineData("""{"model":"m","input":[]}""", "input", "empty_array")]
    [InlineData("""{"model":"m","input":7}""", "input", "invalid_type")]
    [InlineData("""{"model":"m","input":[{"role":"wizard","content":"x"}]}""", "input[0].role", "invalid_value")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}""", "input[0].content[0].type", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}""", "input[0].content[0].image_url", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}""", "input[0].type", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}""", "input[0].call_id", "missing_required_parameter")]
    [InlineData("""{"model":"m","input":"hi","previous_response_id":"resp_1"}""", "previous_response_id", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":"hi","conversation":"conv_1"}""", "conversation", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":"hi","background":true}""", "background", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":"hi","tools":[{"type":"web_search"}]}""", "tools[0].type", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":"hi","tool_choice":{"type":"file_search"}}""", "tool_choice.type", "unsupported_parameter")]
    [InlineData("""{"model":"m","input":"hi","max_output_tokens":"many"}""", "max_output_tokens", "invalid_type")]
    [InlineData("""{"model":"m","input":"hi","temperature":"hot"}""", "temperature", "invalid_type")]
    [InlineData("""{"model":"m","input":"hi","instructions":["a"]}""", "instructions", "invalid_type")]
    [InlineData("""{"model":"m","input":"hi","text":{"format":{"type":"yaml"}}}""", "text.format.type", "invalid_value")]
    [InlineData("""{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"x"}}}""", "text.format.schema", "missing_required_parameter")]
    public void Translate_InvalidOrUnsupported_Returns400WithParam(string json, string param, string code)
    {
        var (actualParam, actualCode) = Reject(json);

        Assert.Equal(param, actualParam);
        Assert.Equal(code, actualCode);
    }
}
