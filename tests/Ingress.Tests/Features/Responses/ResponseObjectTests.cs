using System.Text.Json.Nodes;
using Broker.Ingress.Features.Responses;

namespace Broker.Ingress.Tests.Features.Responses;

public sealed class ResponseObjectTests
{
    private static readonly JsonObject Request = JsonNode.Parse("""
        {"model":"gpt-4o","input":"hi","instructions":"Be brief.","max_output_tokens":100,"temperature":0.2,
         "tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}],"metadata":{"ticket":"T-1"}}
        """)!.AsObject();

    private static JsonObject Completion(string message, string finishReason) => JsonNode.Parse("""
        {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024-08-06",
         "choices":[{"index":0,"message":MESSAGE,"finish_reason":"FINISH"}],
         "usage":{"prompt_tokens":13,"completion_tokens":5,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}
        """.Replace("MESSAGE", message, StringComparison.Ordinal).Replace("FINISH", finishReason, StringComparison.Ordinal))!.AsObject();

    [Fact]
    public void FromChatCompletion_TextAnswer_CompletedMessageWithUsageAndEchoedSettings()
    {
        var response = ResponseObject.FromChatCompletion(Request, Completion("""{"role":"assistant","content":"Hello"}""", "stop"), "resp_1", 1_700_000_001);

        Assert.Equal("resp_1", response["id"]!.GetValue<string>());
        Assert.Equal("response", response["object"]!.GetValue<string>());
        Assert.Equal(1_700_000_001, response["created_at"]!.GetValue<long>());
        Assert.Equal("completed", response["status"]!.GetValue<string>());
        Assert.Equal("gpt-4o-2024-08-06", response["model"]!.GetValue<string>());
        Assert.Null(response["error"]);
        Assert.Null(response["incomplete_details"]);
        var item = Assert.Single(response["output"]!.AsArray())!;
        Assert.Equal("message", item["type"]!.GetValue<string>());
        Assert.StartsWith("msg_", item["id"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("completed", item["status"]!.GetValue<string>());
        Assert.Equal("assistant", item["role"]!.GetValue<string>());
        Assert.Equal("""[{"type":"output_text","text":"Hello","annotations":[],"logprobs":[]}]""", item["content"]!.ToJsonString());
        Assert.Equal(
            """{"input_tokens":13,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":18}""",
            response["usage"]!.ToJsonString());
        Assert.Equal("Be brief.", response["instructions"]!.GetValue<string>());
        Assert.Equal(100, response["max_output_tokens"]!.GetValue<int>());
        Assert.Equal(0.2, response["temperature"]!.GetValue<double>());
        Assert.Equal("T-1", response["metadata"]!["ticket"]!.GetValue<string>());
        Assert.Equal("weather", response["tools"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("auto", response["tool_choice"]!.GetValue<string>());
        Assert.True(response["parallel_tool_calls"]!.GetValue<bool>());
        Assert.Equal("""{"format":{"type":"text"}}""", response["text"]!.ToJsonString());
    }

    [Fact]
    public void FromChatCompletion_ToolCalls_FunctionCallItemsWithoutEmptyMessage()
    {
        var completion = Completion("""
            {"role":"assistant","content":null,"tool_calls":[
              {"id":"call_a","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
              {"id":"call_b","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Rome\"}"}}]}
            """, "tool_calls");

        var output = ResponseObject.FromChatCompletion(Request, completion, "resp_1", 1)["output"]!.AsArray();

        Assert.Equal(2, output.Count);
        Assert.All(output, item =>
        {
            Assert.Equal("function_call", item!["type"]!.GetValue<string>());
            Assert.StartsWith("fc_", item["id"]!.GetValue<string>(), StringComparison.Ordinal);
            Assert.Equal("completed", item["status"]!.GetValue<string>());
            Assert.Equal("weather", item["name"]!.GetValue<string>());
        });
        Assert.Equal("call_a", output[0]!["call_id"]!.GetValue<string>());
        Assert.Equal("""{"city":"Rome"}""", output[1]!["arguments"]!.GetValue<string>());
    }

    [Fact]
    public void FromChatCompletion_FinishReasonLength_IncompleteWithMaxOutputTokens()
    {
        var response = ResponseObject.FromChatCompletion(Request, Completion("""{"role":"assistant","content":"Hel"}""", "length"), "resp_1", 1);

        Assert.Equal("incomplete", response["status"]!.GetValue<string>());
        Assert.Equal("""{"reason":"max_output_tokens"}""", response["incomplete_details"]!.ToJsonString());
    }

    [Fact]
    public void FromChatCompletion_ReasoningContent_ReasoningItemBeforeMessage()
    {
        var response = ResponseObject.FromChatCompletion(
            Request, Completion("""{"role":"assistant","content":"42","reasoning_content":"think"}""", "stop"), "resp_1", 1);

        var output = response["output"]!.AsArray();
        Assert.Equal("reasoning", output[0]!["type"]!.GetValue<string>());
        Assert.Equal("think", output[0]!["summary"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("message", output[1]!["type"]!.GetValue<string>());
    }
}
