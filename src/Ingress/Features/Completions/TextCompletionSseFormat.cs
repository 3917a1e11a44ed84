using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Streaming;

namespace Broker.Ingress.Features.Completions;

/// <summary>
/// The legacy completions stream: <c>data: {"object":"text_completion","choices":[{"text",...}]}</c> frames and
/// <c>data: [DONE]</c>; the usage frame (empty choices) only when <c>stream_options.include_usage</c> asked for it.
/// </summary>
public sealed class TextCompletionSseFormat(string id, long createdAt, bool includeUsage) : ISseFormat
{
    public IEnumerable<string> Start() => [];

    public IEnumerable<string> Chunk(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var model = chunk["model"]?.DeepClone();
        if (chunk["choices"] is JsonArray { Count: 0 })
        {
            return includeUsage && chunk["usage"] is JsonObject usage
                ? [Frame(new JsonArray(), model, usage.DeepClone())]
                : [];
        }

        var choices = new JsonArray();
        foreach (var choice in (chunk["choices"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var text = choice["delta"]?["content"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>() : "";
            var finish = choice["finish_reason"] is JsonValue f && f.GetValueKind() == JsonValueKind.String ? f.GetValue<string>() : null;
            if (text.Length == 0 && finish is null)
            {
                // the role-only opening chunk and empty deltas carry no text
                continue;
            }

            choices.Add(new JsonObject
            {
                ["text"] = text,
                ["index"] = choice["index"]?.DeepClone() ?? 0,
                ["logprobs"] = null,
                ["finish_reason"] = finish,
            });
        }

        return choices.Count == 0 ? [] : [Frame(choices, model, null)];
    }

    public IEnumerable<string> Error(OpenAiErrorResult error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return ["data: " + JsonSerializer.Serialize(error.Error, IngressJsonContext.Default.OpenAiError) + "\n\n", "data: [DONE]\n\n"];
    }

    public IEnumerable<string> End() => ["data: [DONE]\n\n"];

    private string Frame(JsonArray choices, JsonNode? model, JsonNode? usage)
    {
        var data = new JsonObject
        {
            ["id"] = id,
            ["object"] = "text_completion",
            ["created"] = createdAt,
            ["model"] = model,
            ["choices"] = choices,
        };
        if (usage is not null)
        {
            data["usage"] = usage;
        }

        return "data: " + data.ToJsonString() + "\n\n";
    }
}
