using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Features.Completions;

namespace Broker.Ingress.Tests.Features.Completions;

public sealed class TextCompletionFormatTests
{
    private static JsonObject Chat(string text, int prompt) => JsonNode.Parse($$$"""
        {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
         "choices":[{"index":0,"message":{"role":"assistant","content":"{{{text}}}"},"finish_reason":"stop"},
                    {"index":1,"message":{"role":"assistant","content":"{{{text}}}!"},"finish_reason":"length"}],
         "usage":{"prompt_tokens":{{{prompt}}},"completion_tokens":2,"total_tokens":{{{prompt + 2}}}}}
        """)!.AsObject();

    [Fact]
    public void FromChatCompletions_TwoPromptsTwoChoicesEach_IndexedInPromptOrderWithSummedUsage()
    {
        var completion = TextCompletionObject.FromChatCompletions([Chat("a", 3), Chat("b", 4)], "cmpl-1", 1_700_000_000);

        Assert.Equal("cmpl-1", completion["id"]!.GetValue<string>());
        Assert.Equal("text_completion", completion["object"]!.GetValue<string>());
        Assert.Equal(1_700_000_000, completion["created"]!.GetValue<long>());
        Assert.Equal("gpt-4o-mini", completion["model"]!.GetValue<string>());
        Assert.Equal(
            """[{"text":"a","index":0,"logprobs":null,"finish_reason":"stop"},{"text":"a!","index":1,"logprobs":null,"finish_reason":"length"},{"text":"b","index":2,"logprobs":null,"finish_reason":"stop"},{"text":"b!","index":3,"logprobs":null,"finish_reason":"length"}]""",
            completion["choices"]!.ToJsonString());
        Assert.Equal("""{"prompt_tokens":7,"completion_tokens":4,"total_tokens":11}""", completion["usage"]!.ToJsonString());
    }

    [Fact]
    public void Stream_ChatChunks_TextCompletionFramesAndDone()
    {
        var format = new TextCompletionSseFormat("cmpl-1", 5, includeUsage: false);
        var frames = new List<string>();
        frames.AddRange(format.Start());
        frames.AddRange(format.Chunk(JsonNode.Parse("""{"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""")!.AsObject()));
        frames.AddRange(format.Chunk(JsonNode.Parse("""{"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}""")!.AsObject()));
        frames.AddRange(format.Chunk(JsonNode.Parse("""{"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""")!.AsObject()));
        frames.AddRange(format.Chunk(JsonNode.Parse("""{"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""")!.AsObject()));
        frames.AddRange(format.End());

        Assert.Equal(
            [
                """data: {"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"text":"Hi","index":0,"logprobs":null,"finish_reason":null}]}""" + "\n\n",
                """data: {"id":"cmpl-1","object":"text_completion","created":5,"model":"m","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]}""" + "\n\n",
                "data: [DONE]\n\n",
            ],
            frames);
    }

    [Fact]
    public void Stream_IncludeUsage_UsageFrameWithEmptyChoices()
    {
        var format = new TextCompletionSseFormat("cmpl-1", 5, includeUsage: true);

        var frame = Assert.Single(format.Chunk(JsonNode.Parse("""{"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""")!.AsObject()));

        var data = JsonNode.Parse(frame["data: ".Length..])!;
        Assert.Empty(data["choices"]!.AsArray());
        Assert.Equal(2, data["usage"]!["total_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void Stream_Error_OpenAiErrorFrameThenDone()
    {
        var frames = new TextCompletionSseFormat("cmpl-1", 5, false).Error(new OpenAiErrorResult(502, "broke", "api_error")).ToList();

        Assert.Equal(2, frames.Count);
        Assert.Equal("api_error", JsonNode.Parse(frames[0]["data: ".Length..])!["error"]!["type"]!.GetValue<string>());
        Assert.Equal("data: [DONE]\n\n", frames[1]);
    }
}
