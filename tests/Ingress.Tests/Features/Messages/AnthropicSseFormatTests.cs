using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Messages;

namespace Broker.Ingress.Tests.Features.Messages;

public sealed class AnthropicSseFormatTests
{
    private static JsonObject Chunk(string deltaJson, string? finish = null) => new()
    {
        ["id"] = "chatcmpl-1",
        ["object"] = "chat.completion.chunk",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = JsonNode.Parse(deltaJson), ["finish_reason"] = finish }),
    };

    private static JsonObject UsageChunk(int prompt, int completion) => new()
    {
        ["id"] = "chatcmpl-1",
        ["object"] = "chat.completion.chunk",
        ["choices"] = new JsonArray(),
        ["usage"] = new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion },
    };

    private static List<(string Event, JsonObject Data)> Run(AnthropicSseFormat format, params JsonObject[] chunks)
    {
        var frames = format.Start().ToList();
        foreach (var chunk in chunks)
        {
            frames.AddRange(format.Chunk(chunk));
        }

        frames.AddRange(format.End());
        return frames.Select(Parse).ToList();
    }

    private static (string Event, JsonObject Data) Parse(string frame)
    {
        Assert.EndsWith("\n\n", frame, StringComparison.Ordinal);
        var lines = frame.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("data: ", lines[1], StringComparison.Ordinal);
        var data = JsonNode.Parse(lines[1]["data: ".Length..])!.AsObject();
        var type = lines[0]["event: ".Length..];
        Assert.Equal(type, data["type"]!.GetValue<string>());
        return (type, data);
    }

    [Fact]
    public void Frames_TextStream_FollowAnthropicEventOrder()
    {
        var events = Run(
            new AnthropicSseFormat("msg_1", "claude-x", 42),
            Chunk("""{"role":"assistant","content":""}"""),
            Chunk("""{"content":"Hel"}"""),
            Chunk("""{"content":"lo"}"""),
            Chunk("{}", "stop"),
            UsageChunk(13, 5));

        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Event));
        var start = events[0].Data["message"]!;
        Assert.Equal("msg_1", start["id"]!.GetValue<string>());
        Assert.Equal("claude-x", start["model"]!.GetValue<string>());
        Assert.Empty(start["content"]!.AsArray());
        Assert.Equal(42, start["usage"]!["input_tokens"]!.GetValue<int>());
        Assert.Equal("text", events[1].Data["content_block"]!["type"]!.GetValue<string>());
        Assert.Equal("Hello", string.Concat(events.Where(e => e.Event == "content_block_delta").Select(e => e.Data["delta"]!["text"]!.GetValue<string>())));
        Assert.Equal("text_delta", events[2].Data["delta"]!["type"]!.GetValue<string>());
        var delta = events[5].Data;
        Assert.Equal("end_turn", delta["delta"]!["stop_reason"]!.GetValue<string>());
        Assert.Equal(5, delta["usage"]!["output_tokens"]!.GetValue<int>());
        Assert.Equal(13, delta["usage"]!["input_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void Frames_ToolCallsAfterText_OpenToolUseBlocksWithInputJsonDeltas()
    {
        var events = Run(
            new AnthropicSseFormat("msg_1", "m"),
            Chunk("""{"content":"Checking."}"""),
            Chunk("""{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}"""),
            Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}"""),
            Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"""),
            Chunk("""{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}"""),
            Chunk("{}", "tool_calls"),
            UsageChunk(20, 9));

        Assert.Equal(
            [
                "message_start",
                "content_block_start", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
                "content_block_start", "content_block_delta", "content_block_stop",
                "message_delta", "message_stop",
            ],
            events.Select(e => e.Event));
        var firstTool = events[4].Data;
        Assert.Equal(1, firstTool["index"]!.GetValue<int>());
        Assert.Equal("tool_use", firstTool["content_block"]!["type"]!.GetValue<string>());
        Assert.Equal("call_a", firstTool["content_block"]!["id"]!.GetValue<string>());
        Assert.Equal("get_weather", firstTool["content_block"]!["name"]!.GetValue<string>());
        var json = string.Concat(events.Skip(5).Take(2).Select(e => e.Data["delta"]!["partial_json"]!.GetValue<string>()));
        Assert.Equal("""{"city":"Paris"}""", json);
        Assert.Equal("input_json_delta", events[5].Data["delta"]!["type"]!.GetValue<string>());
        Assert.Equal(2, events[8].Data["index"]!.GetValue<int>());
        Assert.Equal("call_b", events[8].Data["content_block"]!["id"]!.GetValue<string>());
        Assert.Equal("tool_use", events[11].Data["delta"]!["stop_reason"]!.GetValue<string>());
    }

    [Fact]
    public void Frames_LengthFinish_StopReasonMaxTokens()
    {
        var events = Run(new AnthropicSseFormat("msg_1", "m"), Chunk("""{"content":"a"}""", "length"));

        Assert.Equal("max_tokens", events.Single(e => e.Event == "message_delta").Data["delta"]!["stop_reason"]!.GetValue<string>());
    }

    [Fact]
    public void Error_AfterStart_IsAnErrorEventInAnthropicShape()
    {
        var format = new AnthropicSseFormat("msg_1", "m");

        var (type, data) = Parse(Assert.Single(format.Error(new OpenAiErrorResult(502, "upstream broke", "api_error"))));

        Assert.Equal("error", type);
        Assert.Equal("api_error", data["error"]!["type"]!.GetValue<string>());
        Assert.Equal("upstream broke", data["error"]!["message"]!.GetValue<string>());
    }
}
