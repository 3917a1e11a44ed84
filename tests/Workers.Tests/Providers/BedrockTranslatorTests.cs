using System.Text.Json.Nodes;
using Broker.Workers.Providers.Bedrock;

namespace Broker.Workers.Tests.Providers;

public sealed class BedrockTranslatorTests
{
    [Fact]
    public void ToConverseRequest_Conversation_MapsSystemBlocksToolUseToolResultAndImages()
    {
        var openAi = JsonNode.Parse("""
        {"model":"anthropic.claude-3-5-sonnet-20240620-v1:0","aws_secret_access_key":"never-sent","aws_region_name":"eu-west-1","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/AA=="}}]},
          {"role":"assistant","content":"Checking.","tool_calls":[{"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
          {"role":"tool","tool_call_id":"tooluse_1","content":"21C"},
          {"role":"user","content":"And tomorrow?"}
        ],"max_tokens":200,"temperature":0.1,"top_p":0.7,"stop":["STOP"],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
         "tool_choice":"auto"}
        """)!.AsObject();

        var converse = BedrockTranslator.ToConverseRequest(openAi);

        Assert.Equal("Be brief.", converse["system"]![0]!["text"]!.GetValue<string>());
        var messages = converse["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], messages.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("jpeg", messages[0]!["content"]![1]!["image"]!["format"]!.GetValue<string>());
        Assert.Equal("/9j/AA==", messages[0]!["content"]![1]!["image"]!["source"]!["bytes"]!.GetValue<string>());
        Assert.Equal("Checking.", messages[1]!["content"]![0]!["text"]!.GetValue<string>());
        var toolUse = messages[1]!["content"]![1]!["toolUse"]!;
        Assert.Equal("tooluse_1", toolUse["toolUseId"]!.GetValue<string>());
        Assert.Equal("Paris", toolUse["input"]!["city"]!.GetValue<string>());
        // the tool result and the next user text share one user turn
        var toolResult = messages[2]!["content"]![0]!["toolResult"]!;
        Assert.Equal("tooluse_1", toolResult["toolUseId"]!.GetValue<string>());
        Assert.Equal("21C", toolResult["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("And tomorrow?", messages[2]!["content"]![1]!["text"]!.GetValue<string>());
        var config = converse["inferenceConfig"]!;
        Assert.Equal(200, config["maxTokens"]!.GetValue<int>());
        Assert.Equal(0.1, config["temperature"]!.GetValue<double>());
        Assert.Equal(0.7, config["topP"]!.GetValue<double>());
        Assert.Equal("STOP", config["stopSequences"]![0]!.GetValue<string>());
        var spec = converse["toolConfig"]!["tools"]![0]!["toolSpec"]!;
        Assert.Equal("get_weather", spec["name"]!.GetValue<string>());
        Assert.Equal("object", spec["inputSchema"]!["json"]!["type"]!.GetValue<string>());
        Assert.NotNull(converse["toolConfig"]!["toolChoice"]!["auto"]);
        Assert.DoesNotContain("aws_", converse.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("never-sent", converse.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ToOpenAiCompletion_ToolUseAnswer_MapsToolCallsStopReasonAndUsage()
    {
        var converse = JsonNode.Parse("""
        {"output":{"message":{"role":"assistant","content":[{"text":"Let me check."},{"toolUse":{"toolUseId":"tooluse_9","name":"get_weather","input":{"city":"Paris"}}}]}},
         "stopReason":"tool_use","usage":{"inputTokens":15,"outputTokens":8,"totalTokens":23}}
        """)!.AsObject();

        var (completion, usage) = BedrockTranslator.ToOpenAiCompletion(converse, "claude-bedrock", 0);

        var choice = completion["choices"]![0]!;
        Assert.Equal("tool_calls", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal("Let me check.", choice["message"]!["content"]!.GetValue<string>());
        Assert.Equal("tooluse_9", choice["message"]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", choice["message"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
        Assert.Equal(15, usage.PromptTokens);
        Assert.Equal(8, usage.CompletionTokens);
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("guardrail_intervened", "content_filter")]
    public void FinishReason_StopReason_MapsToOpenAi(string reason, string expected) =>
        Assert.Equal(expected, BedrockTranslator.FinishReason(reason));

    [Fact]
    public void Translate_StreamEvents_YieldTextToolDeltasFinishAndUsage()
    {
        var translator = new BedrockStreamTranslator("m", 0);
        var events = new (string Type, string Json)[]
        {
            ("messageStart", """{"role":"assistant"}"""),
            ("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"text":"Hi"}}"""),
            ("contentBlockStop", """{"contentBlockIndex":0}"""),
            ("contentBlockStart", """{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"get_weather"}}}"""),
            ("contentBlockDelta", """{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":\"Paris\"}"}}}"""),
            ("messageStop", """{"stopReason":"tool_use"}"""),
            ("metadata", """{"usage":{"inputTokens":4,"outputTokens":6,"totalTokens":10},"metrics":{"latencyMs":1}}"""),
        };

        var chunks = events.SelectMany(e => translator.Translate(e.Type, JsonNode.Parse(e.Json)!.AsObject())).ToList();

        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        Assert.Equal("Hi", chunks[1]["choices"]![0]!["delta"]!["content"]!.GetValue<string>());
        Assert.Equal("t1", chunks[2]["choices"]![0]!["delta"]!["tool_calls"]![0]!["id"]!.GetValue<string>());
        Assert.Equal(0, chunks[3]["choices"]![0]!["delta"]!["tool_calls"]![0]!["index"]!.GetValue<int>());
        Assert.Equal("""{"city":"Paris"}""", chunks[3]["choices"]![0]!["delta"]!["tool_calls"]![0]!["function"]!["arguments"]!.GetValue<string>());
        Assert.Equal("tool_calls", chunks[4]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Equal(10, chunks[5]["usage"]!["total_tokens"]!.GetValue<int>());
        Assert.True(translator.Ended);
    }
}
