using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using static Broker.Workers.Providers.OpenAiShapes;

namespace Broker.Workers.Providers.Cohere;

/// <summary>OpenAI chat completions ⇄ Cohere v2 chat (<c>/v2/chat</c>) and embeddings (<c>/v2/embed</c>).</summary>
public static class CohereTranslator
{
    /// <summary>OpenAI request → Cohere v2 chat request.</summary>
    public static JsonObject ToCohereRequest(JsonObject openAi, string model)
    {
        ArgumentNullException.ThrowIfNull(openAi);
        var messages = new JsonArray();
        foreach (var message in (openAi["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            switch (Str(message["role"]) ?? "user")
            {
                case "system" or "developer":
                    messages.Add(new JsonObject { ["role"] = "system", ["content"] = TextOf(message["content"]) });
                    break;
                case "assistant":
                    var assistant = new JsonObject { ["role"] = "assistant" };
                    var text = TextOf(message["content"]);
                    if (text.Length > 0)
                    {
                        assistant["content"] = text;
                    }

                    if (message["tool_calls"] is JsonArray { Count: > 0 } calls)
                    {
                        var converted = new JsonArray();
                        foreach (var call in calls.OfType<JsonObject>())
                        {
                            var arguments = call["function"]?["arguments"];
                            converted.Add(ToolCall(Str(call["id"]) ?? "", Str(call["function"]?["name"]) ?? "",
                                Str(arguments) ?? arguments?.ToJsonString() ?? "{}"));
                        }

                        assistant["tool_calls"] = converted;
                    }

                    messages.Add(assistant);
                    break;
                case "tool" or "function":
                    messages.Add(new JsonObject
                    {
                        ["role"] = "tool",
                        ["tool_call_id"] = Str(message["tool_call_id"]) ?? Str(message["name"]) ?? "",
                        ["content"] = TextOf(message["content"]),
                    });
                    break;
                default:
                    messages.Add(new JsonObject { ["role"] = "user", ["content"] = UserContent(message["content"]) });
                    break;
            }
        }

        var result = new JsonObject { ["model"] = model, ["messages"] = messages };
        void Copy(string to, params string[] from)
        {
            if (First(openAi, from) is { } value)
            {
                result[to] = value;
            }
        }

        Copy("temperature", "temperature");
        Copy("p", "top_p");
        Copy("k", "top_k");
        Copy("max_tokens", "max_completion_tokens", "max_tokens");
        Copy("seed", "seed");
        Copy("frequency_penalty", "frequency_penalty");
        Copy("presence_penalty", "presence_penalty");
        if (StopList(openAi["stop"]) is { } stops)
        {
            result["stop_sequences"] = stops;
        }

        if (openAi["response_format"] is JsonObject format)
        {
            switch (Str(format["type"]))
            {
                case "json_object":
                    result["response_format"] = new JsonObject { ["type"] = "json_object" };
                    break;
                case "json_schema":
                    var json = new JsonObject { ["type"] = "json_object" };
                    if (format["json_schema"]?["schema"] is JsonObject schema)
                    {
                        json["json_schema"] = schema.DeepClone();
                    }

                    result["response_format"] = json;
                    break;
            }
        }

        if (openAi["tools"] is JsonArray { Count: > 0 } tools)
        {
            var converted = new JsonArray();
            foreach (var tool in tools.OfType<JsonObject>())
            {
                var function = tool["function"] as JsonObject ?? tool;
                var f = new JsonObject { ["name"] = function["name"]?.DeepClone() };
                if (function["description"] is { } description)
                {
                    f["description"] = description.DeepClone();
                }

                f["parameters"] = function["parameters"]?.DeepClone() ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
                converted.Add(new JsonObject { ["type"] = "function", ["function"] = f });
            }

            result["tools"] = converted;
        }

        // Cohere knows only REQUIRED and NONE; auto is its default, and a named function is best served as REQUIRED
        switch (openAi["tool_choice"])
        {
            case JsonValue v when v.TryGetValue<string>(out var s) && s is "required" or "none":
                result["tool_choice"] = s.ToUpperInvariant();
                break;
            case JsonObject:
                result["tool_choice"] = "REQUIRED";
                break;
        }

        return result;
    }

    /// <summary>Cohere v2 chat response → OpenAI chat completion.</summary>
    public static (JsonObject Completion, TokenUsage Usage) ToOpenAiCompletion(JsonObject cohere, string clientModel, long created)
    {
        ArgumentNullException.ThrowIfNull(cohere);
        var texts = new List<string>();
        var thinking = new List<string>();
        foreach (var part in (cohere["message"]?["content"] as JsonArray ?? []).OfType<JsonObject>())
        {
            switch (Str(part["type"]))
            {
                case "text":
                    texts.Add(Str(part["text"]) ?? "");
                    break;
                case "thinking":
                    thinking.Add(Str(part["thinking"]) ?? "");
                    break;
            }
        }

        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = texts.Count == 0 ? null : string.Concat(texts),
        };
        if (cohere["message"]?["tool_calls"] is JsonArray { Count: > 0 } calls)
        {
            var toolCalls = new JsonArray();
            foreach (var call in calls.OfType<JsonObject>())
            {
                var arguments = call["function"]?["arguments"];
                toolCalls.Add(ToolCall(Str(call["id"]) ?? "", Str(call["function"]?["name"]) ?? "", Str(arguments) ?? arguments?.ToJsonString() ?? "{}"));
            }

            message["tool_calls"] = toolCalls;
        }

        if (thinking.Count > 0)
        {
            message["reasoning_content"] = string.Concat(thinking);
        }

        var usage = ReadUsage(cohere["usage"] as JsonObject);
        var id = "chatcmpl-" + (Str(cohere["id"]) ?? Guid.NewGuid().ToString("N"));
        return (Completion(id, created, clientModel, message, FinishReason(Str(cohere["finish_reason"])), usage), usage);
    }

    /// <summary>Cohere <c>finish_reason</c> → OpenAI's.</summary>
    public static string FinishReason(string? finishReason) => finishReason switch
    {
        "MAX_TOKENS" => "length",
        "TOOL_CALL" => "tool_calls",
        "ERROR_TOXIC" => "content_filter",
        _ => "stop",
    };

    /// <summary><c>usage.tokens</c> (what the model saw), else <c>usage.billed_units</c>.</summary>
    public static TokenUsage ReadUsage(JsonObject? usage)
    {
        var counts = usage?["tokens"] as JsonObject ?? usage?["billed_units"] as JsonObject;
        return new TokenUsage { PromptTokens = NumberOf(counts?["input_tokens"]), CompletionTokens = NumberOf(counts?["output_tokens"]) };
    }

    /// <summary>OpenAI embeddings request → Cohere <c>/v2/embed</c> body (documents to search, floats).</summary>
    public static JsonObject ToEmbedRequest(JsonObject openAi, string model)
    {
        ArgumentNullException.ThrowIfNull(openAi);
        var texts = openAi["input"] is JsonArray list
            ? new JsonArray([.. list.Select(i => (JsonNode?)(Str(i) ?? i?.ToJsonString() ?? ""))])
            : new JsonArray(Str(openAi["input"]) ?? "");
        var result = new JsonObject
        {
            ["model"] = model,
            ["texts"] = texts,
            ["input_type"] = Str(openAi["input_type"]) ?? "search_document",
            ["embedding_types"] = new JsonArray("float"),
        };
        if (openAi["dimensions"] is { } dimensions)
        {
            result["output_dimension"] = dimensions.DeepClone();
        }

        return result;
    }

    /// <summary>Cohere <c>/v2/embed</c> answer → OpenAI embedding list.</summary>
    public static (JsonObject Body, TokenUsage Usage) ToOpenAiEmbeddings(JsonObject cohere, string clientModel)
    {
        ArgumentNullException.ThrowIfNull(cohere);
        var data = new JsonArray();
        var index = 0;
        foreach (var vector in cohere["embeddings"]?["float"] as JsonArray ?? [])
        {
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = index++, ["embedding"] = vector?.DeepClone() });
        }

        var tokens = NumberOf(cohere["meta"]?["billed_units"]?["input_tokens"]);
        return (new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = clientModel,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        }, new TokenUsage { PromptTokens = tokens, CompletionTokens = 0 });
    }

    private static JsonNode UserContent(JsonNode? content)
    {
        if (content is not JsonArray list)
        {
            return TextOf(content);
        }

        var parts = new JsonArray();
        foreach (var part in list.OfType<JsonObject>())
        {
            switch (Str(part["type"]))
            {
                case "text":
                    parts.Add(new JsonObject { ["type"] = "text", ["text"] = part["text"]?.DeepClone() });
                    break;
                case "image_url":
                    parts.Add(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = ImageUrl(part) } });
                    break;
            }
        }

        return parts;
    }
}
