using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Features.Completions;

/// <summary>Builds legacy <c>text_completion</c> objects from chat completions.</summary>
public static class TextCompletionObject
{
    public static string NewId() => $"cmpl-{Guid.NewGuid():N}";

    /// <summary>
    /// One text completion from the chat completions of a batch of prompts, in prompt order: choice indexes run
    /// prompt by prompt (prompt i's choices come at i*n..i*n+n-1, as OpenAI numbers them) and usage is summed.
    /// </summary>
    public static JsonObject FromChatCompletions(IReadOnlyList<JsonObject> completions, string id, long createdAt)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var choices = new JsonArray();
        long prompt = 0, completion = 0, total = 0;
        var anyUsage = false;
        foreach (var chat in completions)
        {
            var offset = choices.Count;
            foreach (var choice in (chat["choices"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var index = choice["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : choices.Count - offset;
                choices.Add(new JsonObject
                {
                    ["text"] = Text(choice["message"]?["content"]) ?? "",
                    ["index"] = offset + index,
                    ["logprobs"] = null,
                    ["finish_reason"] = Text(choice["finish_reason"]),
                });
            }

            if (chat["usage"] is JsonObject usage)
            {
                anyUsage = true;
                prompt += Integer(usage["prompt_tokens"]);
                completion += Integer(usage["completion_tokens"]);
                total += Integer(usage["total_tokens"]);
            }
        }

        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "text_completion",
            ["created"] = createdAt,
            ["model"] = completions.Select(c => Text(c["model"])).FirstOrDefault(m => m is not null) ?? "",
            ["choices"] = choices,
            ["usage"] = anyUsage
                ? new JsonObject { ["prompt_tokens"] = prompt, ["completion_tokens"] = completion, ["total_tokens"] = total }
                : null,
        };
    }

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static long Integer(JsonNode? node) => node is JsonValue v && v.TryGetValue<long>(out var n) ? n : 0;
}
