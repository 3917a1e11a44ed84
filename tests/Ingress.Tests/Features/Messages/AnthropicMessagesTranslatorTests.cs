using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Messages;

namespace Broker.Ingress.Tests.Features.Messages;

public sealed class AnthropicMessagesTranslatorTests
{
    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    private static string? Str(JsonNode? node) => node?.GetValue<string>();

    [Fact]
    public void ToOpenAiRequest_SystemBlocksWithCacheControl_BecomeOneSystemMessage()
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"claude-sonnet-4-5","max_tokens":512,
             "system":[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":"hi"}]}
            """));

        var messages = request["messages"]!.AsArray();
        Assert.Equal(2, messages.Count);
        Assert.Equal("system", Str(messages[0]!["role"]));
        Assert.Equal("You are Claude Code.\n\nBe terse.", Str(messages[0]!["content"]));
        Assert.Equal("user", Str(messages[1]!["role"]));
        Assert.Equal("hi", Str(messages[1]!["content"]));
        Assert.Equal("claude-sonnet-4-5", Str(request["model"]));
        Assert.Equal(512, request["max_tokens"]!.GetValue<int>());
        Assert.DoesNotContain("cache_control", request.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ToOpenAiRequest_SystemRoleInsideMessages_BecomesSystemMessage()
    {
        // Claude Code's shape for claude-opus-* and unknown model names, with adaptive thinking and output_config
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"gpt-4o","max_tokens":32000,"thinking":{"type":"adaptive"},"output_config":{"effort":"high"},
             "context_management":{"edits":[]},
             "messages":[{"role":"system","content":[{"type":"text","text":"Reminder: be careful."}]},
                         {"role":"user","content":[{"type":"text","text":"<system-reminder>x</system-reminder>"},{"type":"text","text":"Do it"}]}]}
            """));

        var messages = request["messages"]!.AsArray();
        Assert.Equal("system", Str(messages[0]!["role"]));
        Assert.Equal("Reminder: be careful.", Str(messages[0]!["content"]));
        Assert.Equal("user", Str(messages[1]!["role"]));
        Assert.Equal("<system-reminder>x</system-reminder>\nDo it", Str(messages[1]!["content"]));
        Assert.False(request.ContainsKey("thinking"));
        Assert.False(request.ContainsKey("output_config"));
        Assert.False(request.ContainsKey("context_management"));
    }

    [Fact]
    public void ToOpenAiRequest_SamplingStopAndMetadata_MapToOpenAiParams()
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"m","max_tokens":10,"temperature":0.3,"top_p":0.9,"top_k":40,"stop_sequences":["END","STOP"],
             "metadata":{"user_id":"user_abc"},"stream":true,"messages":[{"role":"user","content":"hi"}]}
            """));

        Assert.Equal(0.3, request["temperature"]!.GetValue<double>());
        Assert.Equal(0.9, request["top_p"]!.GetValue<double>());
        Assert.Equal(40, request["top_k"]!.GetValue<int>());
        Assert.Equal(["END", "STOP"], request["stop"]!.AsArray().Select(s => Str(s)));
        Assert.Equal("user_abc", Str(request["user"]));
        Assert.True(request["stream"]!.GetValue<bool>());
    }

    [Fact]
    public void ToOpenAiRequest_ToolsAndToolChoice_BecomeFunctionTools()
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"weather?"}],
             "tools":[{"name":"get_weather","description":"Weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
                      {"type":"web_search_20250305","name":"web_search","max_uses":5}],
             "tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}}
            """));

        var tool = Assert.Single(request["tools"]!.AsArray())!;
        Assert.Equal("function", Str(tool["type"]));
        Assert.Equal("get_weather", Str(tool["function"]!["name"]));
        Assert.Equal("Weather for a city", Str(tool["function"]!["description"]));
        Assert.Equal("city", Str(tool["function"]!["parameters"]!["required"]![0]));
        Assert.Equal("get_weather", Str(request["tool_choice"]!["function"]!["name"]));
        Assert.False(request["parallel_tool_calls"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("auto", "auto")]
    [InlineData("any", "required")]
    [InlineData("none", "none")]
    public void ToOpenAiRequest_ToolChoiceType_MapsToOpenAiString(string anthropic, string openAi)
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse($$$"""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],
             "tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"{{{anthropic}}}"}}
            """));

        Assert.Equal(openAi, Str(request["tool_choice"]));
    }

    [Fact]
    public void ToOpenAiRequest_ToolUseAndToolResult_BecomeToolCallsAndToolMessages()
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"m","max_tokens":10,"messages":[
              {"role":"user","content":"weather in Paris?"},
              {"role":"assistant","content":[
                {"type":"thinking","thinking":"they want weather","signature":"sig"},
                {"type":"text","text":"Let me check."},
                {"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"text","text":"18C, cloudy"}]},
                {"type":"text","text":"And tomorrow?"}]}]}
            """));

        var messages = request["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool", "user"], messages.Select(m => Str(m!["role"])));
        var assistant = messages[1]!;
        Assert.Equal("Let me check.", Str(assistant["content"]));
        var call = Assert.Single(assistant["tool_calls"]!.AsArray())!;
        Assert.Equal("toolu_01", Str(call["id"]));
        Assert.Equal("function", Str(call["type"]));
        Assert.Equal("get_weather", Str(call["function"]!["name"]));
        Assert.Equal("""{"city":"Paris"}""", Str(call["function"]!["arguments"]));
        Assert.DoesNotContain("they want weather", request.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("toolu_01", Str(messages[2]!["tool_call_id"]));
        Assert.Equal("18C, cloudy", Str(messages[2]!["content"]));
        Assert.Equal("And tomorrow?", Str(messages[3]!["content"]));
    }

    [Fact]
    public void ToOpenAiRequest_AssistantOnlyToolUse_HasNullContent()
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_9","name":"ls","input":{}}]}]}
            """));

        var assistant = request["messages"]![1]!.AsObject();
        Assert.True(assistant.ContainsKey("content"));
        Assert.Null(assistant["content"]);
        Assert.Equal("{}", Str(assistant["tool_calls"]![0]!["function"]!["arguments"]));
    }

    [Fact]
    public void ToOpenAiRequest_Images_BecomeImageUrlParts()
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"text","text":"what is this?"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0K"}},
              {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]}
            """));

        var parts = request["messages"]![0]!["content"]!.AsArray();
        Assert.Equal(3, parts.Count);
        Assert.Equal("text", Str(parts[0]!["type"]));
        Assert.Equal("image_url", Str(parts[1]!["type"]));
        Assert.Equal("data:image/png;base64,iVBORw0K", Str(parts[1]!["image_url"]!["url"]));
        Assert.Equal("https://example.com/cat.jpg", Str(parts[2]!["image_url"]!["url"]));
    }

    [Fact]
    public void ToAnthropicMessage_TextCompletion_HasAnthropicShapeAndUsage()
    {
        var message = AnthropicMessagesTranslator.ToAnthropicMessage(Parse("""
            {"id":"chatcmpl-abc123","object":"chat.completion","model":"gpt-4o-2024-08-06",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":13,"completion_tokens":5,"total_tokens":18}}
            """), "claude-x");

        Assert.Equal("msg_abc123", Str(message["id"]));
        Assert.Equal("message", Str(message["type"]));
        Assert.Equal("assistant", Str(message["role"]));
        Assert.Equal("claude-x", Str(message["model"]));
        var block = Assert.Single(message["content"]!.AsArray())!;
        Assert.Equal("text", Str(block["type"]));
        Assert.Equal("Hello!", Str(block["text"]));
        Assert.Equal("end_turn", Str(message["stop_reason"]));
        Assert.True(message.ContainsKey("stop_sequence"));
        Assert.Null(message["stop_sequence"]);
        Assert.Equal(13, message["usage"]!["input_tokens"]!.GetValue<int>());
        Assert.Equal(5, message["usage"]!["output_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void ToAnthropicMessage_ToolCalls_BecomeToolUseBlocksWithParsedInput()
    {
        var message = AnthropicMessagesTranslator.ToAnthropicMessage(Parse("""
            {"id":"chatcmpl-msg_fake","choices":[{"index":0,"message":{"role":"assistant","content":"Checking.",
              "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                            {"id":"call_2","type":"function","function":{"name":"broken","arguments":"{not json"}}]},
              "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":20,"completion_tokens":9}}
            """), "m");

        Assert.Equal("msg_fake", Str(message["id"]));
        var content = message["content"]!.AsArray();
        Assert.Equal(["text", "tool_use", "tool_use"], content.Select(b => Str(b!["type"])));
        Assert.Equal("call_1", Str(content[1]!["id"]));
        Assert.Equal("get_weather", Str(content[1]!["name"]));
        Assert.Equal("Paris", Str(content[1]!["input"]!["city"]));
        Assert.Equal("{}", content[2]!["input"]!.ToJsonString());
        Assert.Equal("tool_use", Str(message["stop_reason"]));
    }

    [Theory]
    [InlineData("stop", "end_turn")]
    [InlineData("length", "max_tokens")]
    [InlineData("tool_calls", "tool_use")]
    [InlineData("content_filter", "refusal")]
    [InlineData(null, "end_turn")]
    public void StopReason_OpenAiFinishReason_MapsToAnthropic(string? finish, string expected) =>
        Assert.Equal(expected, AnthropicMessagesTranslator.StopReason(finish));

    [Fact]
    public void Usage_CachedPromptTokens_ReportedApart()
    {
        var usage = AnthropicMessagesTranslator.Usage(Parse("""{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60}}"""));

        Assert.Equal(40, usage["input_tokens"]!.GetValue<int>());
        Assert.Equal(60, usage["cache_read_input_tokens"]!.GetValue<int>());
        Assert.Equal(7, usage["output_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void RoundTrip_RequestToCompletionToMessage_KeepsToolCallIds()
    {
        var request = AnthropicMessagesTranslator.ToOpenAiRequest(Parse("""
            {"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_A","name":"f","input":{"a":1}}]}]}
            """));
        var call = request["messages"]![1]!["tool_calls"]![0]!;
        var completion = new JsonObject
        {
            ["id"] = "chatcmpl-1",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call.DeepClone()) },
                ["finish_reason"] = "tool_calls",
            }),
        };

        var block = AnthropicMessagesTranslator.ToAnthropicMessage(completion, "m")["content"]![0]!;

        Assert.Equal("toolu_A", Str(block["id"]));
        Assert.Equal(1, block["input"]!["a"]!.GetValue<int>());
    }

    [Theory]
    [InlineData(400, "invalid_request_error")]
    [InlineData(401, "authentication_error")]
    [InlineData(403, "permission_error")]
    [InlineData(404, "not_found_error")]
    [InlineData(413, "request_too_large")]
    [InlineData(429, "rate_limit_error")]
    [InlineData(500, "api_error")]
    [InlineData(502, "api_error")]
    [InlineData(503, "overloaded_error")]
    [InlineData(504, "api_error")]
    public void ErrorFrom_OpenAiError_KeepsStatusWithAnthropicType(int status, string type)
    {
        var error = AnthropicErrorResult.From(new OpenAiErrorResult(status, "boom", "whatever") { RetryAfterSeconds = 3 });

        Assert.Equal(status, error.StatusCode);
        Assert.Equal(type, error.Type);
        Assert.Equal(3, error.RetryAfterSeconds);
        var json = error.ToJson();
        Assert.Equal("error", Str(json["type"]));
        Assert.Equal(type, Str(json["error"]!["type"]));
        Assert.Equal("boom", Str(json["error"]!["message"]));
    }
}
