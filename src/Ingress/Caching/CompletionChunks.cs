using System.Text.Json.Nodes;

namespace Broker.Ingress.Caching;

/// <summary>
/// A stored <c>chat.completion</c> replayed as the <c>chat.completion.chunk</c>s a provider would have streamed:
/// per choice a role chunk, its text (and reasoning, tool calls) in one delta, a finish chunk; then the usage chunk.
/// </summary>
public static class CompletionChunks
{
    public static List<string> From(JsonObject completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var chunks = new List<string>();
        JsonObject Chunk(JsonObject choice) => new()
        {
            ["id"] = completion["id"]?.DeepClone(),
            ["object"] = "chat.completion.chunk",
            ["created"] = completion["created"]?.DeepClone(),
            ["model"] = completion["model"]?.DeepClone(),
            ["choices"] = new JsonArray(choice),
        };

        foreach (var node in completion["choices"] as JsonArray ?? [])
        {
            if (node is not JsonObject choice)
            {
                continue;
            }

            var index = choice["index"]?.DeepClone() ?? 0;
            var message = choice["message"] as JsonObject ?? [];
            chunks.Add(Chunk(new JsonObject
            {
                ["index"] = index.DeepClone(),
                ["delta"] = new JsonObject { ["role"] = message["role"]?.DeepClone() ?? "assistant", ["content"] = message["content"] is JsonValue ? "" : null },
                ["finish_reason"] = null,
            }).ToJsonString());

            var delta = new JsonObject();
            if (message["reasoning_content"] is JsonValue reasoning)
            {
                delta["reasoning_content"] = reasoning.DeepClone();
            }

            if (message["content"] is JsonValue content)
            {
                delta["content"] = content.DeepClone();
            }

            if (message["tool_calls"] is JsonArray calls)
            {
                var indexed = new JsonArray();
                for (var i = 0; i < calls.Count; i++)
                {
                    if (calls[i]?.DeepClone() is JsonObject call)
                    {
                        call["index"] = i;
                        indexed.Add(call);
                    }
                }

                delta["tool_calls"] = indexed;
            }

            if (delta.Count > 0)
            {
                chunks.Add(Chunk(new JsonObject { ["index"] = index.DeepClone(), ["delta"] = delta, ["finish_reason"] = null }).ToJsonString());
            }

            chunks.Add(Chunk(new JsonObject
            {
                ["index"] = index.DeepClone(),
                ["delta"] = new JsonObject(),
                ["finish_reason"] = choice["finish_reason"]?.DeepClone() ?? "stop",
            }).ToJsonString());
        }

        if (completion["usage"] is JsonObject usage)
        {
            var last = Chunk(new JsonObject());
            last["choices"] = new JsonArray();
            last["usage"] = usage.DeepClone();
            chunks.Add(last.ToJsonString());
        }

        return chunks;
    }
}
