using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Broker.Ingress.Streaming;

/// <summary>
/// Answers a <c>stream: true</c> request with a finished completion as OpenAI server-sent events
/// (role + content chunk, finish chunk, optional usage chunk, <c>[DONE]</c>). Token-by-token streaming
/// across the queue is its own feature; this keeps streaming clients working meanwhile.
/// </summary>
public static class CompletionAsStream
{
    public static async Task WriteAsync(HttpResponse response, JsonObject completion, bool includeUsage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(completion);
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";

        var choice = (completion["choices"] as JsonArray)?.FirstOrDefault() as JsonObject;
        var message = choice?["message"] as JsonObject;
        var delta = new JsonObject { ["role"] = "assistant", ["content"] = message?["content"]?.DeepClone() ?? "" };
        if (message?["tool_calls"] is JsonArray toolCalls)
        {
            var indexed = new JsonArray();
            for (var i = 0; i < toolCalls.Count; i++)
            {
                var call = toolCalls[i]!.DeepClone().AsObject();
                call["index"] = i;
                indexed.Add(call);
            }

            delta["tool_calls"] = indexed;
        }

        await WriteChunk(response, Chunk(completion, new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = null })), cancellationToken);
        await WriteChunk(response, Chunk(completion, new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["delta"] = new JsonObject(),
            ["finish_reason"] = choice?["finish_reason"]?.DeepClone() ?? "stop",
        })), cancellationToken);
        if (includeUsage)
        {
            var usageChunk = Chunk(completion, []);
            usageChunk["usage"] = completion["usage"]?.DeepClone();
            await WriteChunk(response, usageChunk, cancellationToken);
        }

        await response.WriteAsync("data: [DONE]\n\n", Encoding.UTF8, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private static JsonObject Chunk(JsonObject completion, JsonArray choices) => new()
    {
        ["id"] = completion["id"]?.DeepClone(),
        ["object"] = "chat.completion.chunk",
        ["created"] = completion["created"]?.DeepClone(),
        ["model"] = completion["model"]?.DeepClone(),
        ["choices"] = choices,
    };

    private static Task WriteChunk(HttpResponse response, JsonObject chunk, CancellationToken cancellationToken) =>
        response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", Encoding.UTF8, cancellationToken);
}
