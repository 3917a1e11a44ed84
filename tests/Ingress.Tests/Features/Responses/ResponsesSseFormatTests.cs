using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Responses;

namespace Broker.Ingress.Tests.Features.Responses;

public sealed class ResponsesSseFormatTests
{
    private static ResponsesSseFormat Format() =>
        new(JsonNode.Parse("""{"model":"gpt-4o","input":"hi","instructions":"Be brief."}""")!.AsObject(), "resp_1", 1_700_000_000);

    private static JsonObject Chunk(string delta, string? finish = null) => JsonNode.Parse($$"""
        {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-x","choices":[{"index":0,"delta":{{delta}},"finish_reason":{{(finish is null ? "null" : $"\"{finish}\"")}}}]}
        """)!.AsObject();

    private static JsonObject UsageChunk() => JsonNode.Parse("""
        {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}
        """)!.AsObject();

    private static List<(string Event, JsonObject Data)> Parse(IEnumerable<string> frames) =>
        frames.Select(frame =>
        {
            Assert.EndsWith("\n\n", frame, StringComparison.Ordinal);
            var lines = frame.TrimEnd('\n').Split('\n');
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("event: ", lines[0], StringComparison.Ordinal);
            Assert.StartsWith("data: ", lines[1], StringComparison.Ordinal);
            return (lines[0]["event: ".Length..], JsonNode.Parse(lines[1]["data: ".Length..])!.AsObject());
        }).ToList();

    [Fact]
    public void Stream_TextChunks_EventsInOrderWithSequenceNumbersAndFinalResponse()
    {
        var format = Format();
        var frames = new List<string>();
        frames.AddRange(format.Start());
        frames.AddRange(format.Chunk(Chunk("""{"role":"assistant","content":""}""")));
        frames.AddRange(format.Chunk(Chunk("""{"content":"Hel"}""")));
        frames.AddRange(format.Chunk(Chunk("""{"content":"lo"}""")));
        frames.AddRange(format.Chunk(Chunk("{}", "stop")));
        frames.AddRange(format.Chunk(UsageChunk()));
        frames.AddRange(format.End());

        var events = Parse(frames);

        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
             "response.output_text.delta", "response.output_text.delta", "response.output_text.done", "response.content_part.done",
             "response.output_item.done", "response.completed"],
            events.Select(e => e.Event));
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data["sequence_number"]!.GetValue<int>()));
        Assert.All(events, e => Assert.Equal(e.Event, e.Data["type"]!.GetValue<string>()));
        Assert.Equal("in_progress", events[0].Data["response"]!["status"]!.GetValue<string>());
        Assert.Equal("resp_1", events[0].Data["response"]!["id"]!.GetValue<string>());
        var itemId = events[2].Data["item"]!["id"]!.GetValue<string>();
        Assert.Equal(["Hel", "lo"], events.Where(e => e.Event == "response.output_text.delta").Select(e => e.Data["delta"]!.GetValue<string>()));
        Assert.All(events.Skip(3).Take(6), e => Assert.Equal(itemId, (e.Data["item_id"] ?? e.Data["item"]!["id"])!.GetValue<string>()));
        Assert.Equal("Hello", events[6].Data["text"]!.GetValue<string>());
        var completed = events[^1].Data["response"]!;
        Assert.Equal("completed", completed["status"]!.GetValue<string>());
        Assert.Equal("gpt-4o-x", completed["model"]!.GetValue<string>());
        Assert.Equal("Be brief.", completed["instructions"]!.GetValue<string>());
        Assert.Equal("Hello", completed["output"]![0]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(3, completed["usage"]!["input_tokens"]!.GetValue<int>());
        Assert.Equal(2, completed["usage"]!["output_tokens"]!.GetValue<int>());
        Assert.Equal(5, completed["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void Stream_ToolCallChunks_FunctionCallItemWithArgumentDeltas()
    {
        var format = Format();
        var frames = format.Start().ToList();
        frames.AddRange(format.Chunk(Chunk("""{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"weather","arguments":""}}]}""")));
        frames.AddRange(format.Chunk(Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}""")));
        frames.AddRange(format.Chunk(Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}""")));
        frames.AddRange(format.Chunk(Chunk("{}", "tool_calls")));
        frames.AddRange(format.End());

        var events = Parse(frames);

        Assert.Equal(
            ["response.created", "response.in_progress", "response.output_item.added", "response.function_call_arguments.delta",
             "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done", "response.completed"],
            events.Select(e => e.Event));
        Assert.Equal("call_a", events[2].Data["item"]!["call_id"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", events[5].Data["arguments"]!.GetValue<string>());
        var item = Assert.Single(events[^1].Data["response"]!["output"]!.AsArray())!;
        Assert.Equal("function_call", item["type"]!.GetValue<string>());
        Assert.Equal("weather", item["name"]!.GetValue<string>());
        Assert.Equal("""{"city":"Paris"}""", item["arguments"]!.GetValue<string>());
    }

    [Fact]
    public void Stream_FinishReasonLength_EndsWithResponseIncomplete()
    {
        var format = Format();
        var frames = format.Start().ToList();
        frames.AddRange(format.Chunk(Chunk("""{"content":"Hel"}""", "length")));
        frames.AddRange(format.End());

        var last = Parse(frames)[^1];

        Assert.Equal("response.incomplete", last.Event);
        Assert.Equal("max_output_tokens", last.Data["response"]!["incomplete_details"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public void Stream_ErrorAfterStart_ErrorThenResponseFailed()
    {
        var format = Format();
        var frames = format.Start().ToList();
        frames.AddRange(format.Chunk(Chunk("""{"content":"Hel"}""")));
        frames.AddRange(format.Error(new OpenAiErrorResult(502, "upstream broke", "api_error", null, "upstream_error")));

        var events = Parse(frames);

        Assert.Equal("error", events[^2].Event);
        Assert.Equal("upstream_error", events[^2].Data["code"]!.GetValue<string>());
        Assert.Equal("upstream broke", events[^2].Data["message"]!.GetValue<string>());
        Assert.Equal("response.failed", events[^1].Event);
        Assert.Equal("failed", events[^1].Data["response"]!["status"]!.GetValue<string>());
        Assert.Equal("upstream broke", events[^1].Data["response"]!["error"]!["message"]!.GetValue<string>());
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data["sequence_number"]!.GetValue<int>()));
    }
}
