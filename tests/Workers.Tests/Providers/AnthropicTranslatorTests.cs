using System.Text.Json.Nodes;
using Broker.Workers.Providers.Anthropic;

namespace Broker.Workers.Tests.Providers;

public sealed class AnthropicTranslatorTests
{
    [Fact]
    public void ToAnthropicRequest_SystemAndUserMessages_MovesSystemOutAndDefaultsMaxTokens()
    {
        var openAi = JsonNode.Parse("""
            {"model":"claude","messages":[
              {"role":"system","content":"Be brief."},
              {"role":"developer","content":"Answer in English."},
              {"role":"user","content":"Hi"}],
             "temperature":0.3,"stop":"END","user":"u-42"}
            """)!.AsObject();

        var request = AnthropicTranslator.ToAnthropicRequest(openAi, "claude-3-5-sonnet-20240620");

        Assert.Equal("claude-3-5-sonnet-20240620", request["model"]!.GetValue<string>());
        Assert.Equal(AnthropicTranslator.DefaultMaxTokens, request["max_tokens"]!.GetValue<int>());
        Assert.Equal("Be brief.\n\nAnswer in English.", request["system"]!.GetValue<string>());
        Assert.Equal(0.3, request["temperature"]!.GetValue<double>());
        Assert.Equal("END", request["stop_sequences"]![0]!.GetValue<string>());
        Assert.Equal("u-42", request["metadata"]!["user_id"]!.GetValue<string>());
        var message = Assert.Single(request["messages"]!.AsArray())!;
        Assert.Equal("user", message["role"]!.GetValue<string>());
        Assert.Equal("Hi", message["content"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public void ToAnthropicRequest_ToolCallsAndResults_BecomeToolUseAndToolResultBlocks()
    {
        var openAi = JsonNode.Parse("""
            {"model":"claude","max_tokens":100,"messages":[
              {"role":"user","content":"Weather in Paris?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"18C"},
              {"role":"user","content":"Thanks"}],
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
             "tool_choice":"required"}
            """)!.AsObject();

        var request = AnthropicTranslator.ToAnthropicRequest(openAi, "claude-x");

        Assert.Equal(100, request["max_tokens"]!.GetValue<int>());
        var messages = request["messages"]!.AsArray();
        Assert.Equal(3, messages.Count);
        var toolUse = messages[1]!["content"]![0]!;
        Assert.Equal("tool_use", toolUse["type"]!.GetValue<string>());
        Assert.Equal("call_1", toolUse["id"]!.GetValue<string>());
        Assert.Equal("Paris", toolUse["input"]!["city"]!.GetValue<string>());
        // the tool result and the next user turn merge into one user message: Anthropic wants alternating roles
        var userTurn = messages[2]!["content"]!.AsArray();
        Assert.Equal("tool_result", userTurn[0]!["type"]!.GetValue<string>());
        Assert.Equal("call_1", userTurn[0]!["tool_use_id"]!.GetValue<string>());
        Assert.Equal("Thanks", userTurn[1]!["text"]!.GetValue<string>());
        Assert.Equal("get_weather", request["tools"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("object", request["tools"]![0]!["input_schema"]!["type"]!.GetValue<string>());
        Assert.Equal("any", request["tool_choice"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void ToAnthropicRequest_DataUrlImage_BecomesBase64Source()
    {
        var openAi = JsonNode.Parse("""
            {"model":"claude","messages":[{"role":"user","content":[
              {"type":"text","text":"What is this?"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}
            """)!.AsObject();

        var request = AnthropicTranslator.ToAnthropicRequest(openAi, "claude-x");

        var image = request["messages"]![0]!["content"]![1]!;
        Assert.Equal("image", image["type"]!.GetValue<string>());
        Assert.Equal("base64", image["source"]!["type"]!.GetValue<string>());
        Assert.Equal("image/png", image["source"]!["media_type"]!.GetValue<string>());
        Assert.Equal("iVBORw0KGgo=", image["source"]!["data"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    public void ToOpenAiCompletion_StopReason_MapsToFinishReason(string stopReason, string finishReason)
    {
        var anthropic = JsonNode.Parse($$$"""
            {"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi"}],
             "stop_reason":"{{{stopReason}}}","usage":{"input_tokens":3,"output_tokens":2}}
            """)!.AsObject();

        var (completion, _) = AnthropicTranslator.ToOpenAiCompletion(anthropic, "claude", 1_700_000_000);

        Assert.Equal(finishReason, completion["choices"]![0]!["finish_reason"]!.GetValue<string>());
    }

    [Fact]
    public void ToOpenAiCompletion_TextAndToolUse_GivesContentToolCallsAndUsage()
    {
        var anthropic = JsonNode.Parse("""
            {"id":"msg_1","type":"message","role":"assistant","content":[
              {"type":"text","text":"Let me check."},
              {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],
             "stop_reason":"tool_use","usage":{"input_tokens":20,"output_tokens":9,"cache_read_input_tokens":5}}
            """)!.AsObject();

        var (completion, usage) = AnthropicTranslator.ToOpenAiCompletion(anthropic, "claude", 1_700_000_000);

        var message = completion["choices"]![0]!["message"]!;
        Assert.Equal("Let me check.", message["content"]!.GetValue<string>());
        var call = message["tool_calls"]![0]!;
        Assert.Equal("toolu_1", call["id"]!.GetValue<string>());
        Assert.Equal("get_weather", call["function"]!["name"]!.GetValue<string>());
        Assert.Equal("Paris", JsonNode.Parse(call["function"]!["arguments"]!.GetValue<string>())!["city"]!.GetValue<string>());
        Assert.Equal(25, usage.PromptTokens);
        Assert.Equal(9, usage.CompletionTokens);
        Assert.Equal(34, completion["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.Equal("chat.completion", completion["object"]!.GetValue<string>());
        Assert.Equal("claude", completion["model"]!.GetValue<string>());
    }
}

public sealed class AnthropicReasoningTests
{
    [Fact]
    public void ToAnthropicRequest_ReasoningEffort_BecomesThinkingBudgetAboveMaxTokens()
    {
        var openAi = JsonNode.Parse("""{"model":"c","max_tokens":1000,"temperature":0.5,"reasoning_effort":"medium","messages":[{"role":"user","content":"think"}]}""")!.AsObject();

        var request = AnthropicTranslator.ToAnthropicRequest(openAi, "claude-sonnet-4");

        Assert.Equal("enabled", request["thinking"]!["type"]!.GetValue<string>());
        Assert.Equal(2048, request["thinking"]!["budget_tokens"]!.GetValue<int>());
        Assert.True(request["max_tokens"]!.GetValue<int>() > 2048);
        Assert.False(request.ContainsKey("temperature"));
    }

    [Fact]
    public void ToOpenAiCompletion_ThinkingBlock_BecomesReasoningContent()
    {
        var anthropic = JsonNode.Parse("""
            {"id":"msg_1","content":[{"type":"thinking","thinking":"Let me see.","signature":"x"},{"type":"text","text":"42"}],
             "stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":9}}
            """)!.AsObject();

        var (completion, _) = AnthropicTranslator.ToOpenAiCompletion(anthropic, "c", 1);

        var message = completion["choices"]![0]!["message"]!;
        Assert.Equal("42", message["content"]!.GetValue<string>());
        Assert.Equal("Let me see.", message["reasoning_content"]!.GetValue<string>());
    }
}
