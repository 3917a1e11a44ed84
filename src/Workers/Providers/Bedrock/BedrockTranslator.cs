using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using static Broker.Workers.Providers.OpenAiShapes;

namespace Broker.Workers.Providers.Bedrock;

/// <summary>OpenAI chat completions ⇄ Bedrock Converse: system blocks, text/image/toolUse/toolResult, inferenceConfig, toolConfig.</summary>
public static class BedrockTranslator
{
    /// <summary>OpenAI request → Converse request body (the model id goes in the URL; litellm_params' aws_* never go in).</summary>
    public static JsonObject ToConverseRequest(JsonObject openAi)
    {
        ArgumentNullException.ThrowIfNull(openAi);
        var system = new JsonArray();
        var messages = new JsonArray();
        foreach (var message in (openAi["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            switch (Str(message["role"]) ?? "user")
            {
                case "system" or "developer":
                    system.Add(new JsonObject { ["text"] = TextOf(message["content"]) });
                    break;
                case "assistant":
                    Append(messages, "assistant", AssistantBlocks(message));
                    break;
                case "tool" or "function":
                    Append(messages, "user", [new JsonObject
                    {
                        ["toolResult"] = new JsonObject
                        {
                            ["toolUseId"] = Str(message["tool_call_id"]) ?? Str(message["name"]) ?? "",
                            ["content"] = new JsonArray(new JsonObject { ["text"] = TextOf(message["content"]) }),
                        },
                    }]);
                    break;
                default:
                    Append(messages, "user", UserBlocks(message["content"]));
                    break;
            }
        }

        var result = new JsonObject { ["messages"] = messages };
        if (system.Count > 0)
        {
            result["system"] = system;
        }

        var config = new JsonObject();
        void Copy(string to, params string[] from)
        {
            if (First(openAi, from) is { } value)
            {
                config[to] = value;
            }
        }

        Copy("maxTokens", "max_completion_tokens", "max_tokens");
        Copy("temperature", "temperature");
        Copy("topP", "top_p");
        if (StopList(openAi["stop"]) is { } stops)
        {
            config["stopSequences"] = stops;
        }

        if (config.Count > 0)
        {
            result["inferenceConfig"] = config;
        }

        if (openAi["tools"] is JsonArray { Count: > 0 } tools && Str(openAi["tool_choice"]) != "none")
        {
            var specs = new JsonArray();
            foreach (var tool in tools.OfType<JsonObject>())
            {
                var function = tool["function"] as JsonObject ?? tool;
                var spec = new JsonObject { ["name"] = function["name"]?.DeepClone() };
                if (function["description"] is { } description)
                {
                    spec["description"] = description.DeepClone();
                }

                spec["inputSchema"] = new JsonObject
                {
                    ["json"] = function["parameters"]?.DeepClone() ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() },
                };
                specs.Add(new JsonObject { ["toolSpec"] = spec });
            }

            var toolConfig = new JsonObject { ["tools"] = specs };
            if (ToolChoice(openAi["tool_choice"]) is { } choice)
            {
                toolConfig["toolChoice"] = choice;
            }

            result["toolConfig"] = toolConfig;
        }

        return result;
    }

    /// <summary>Converse response → OpenAI chat completion.</summary>
    public static (JsonObject Completion, TokenUsage Usage) ToOpenAiCompletion(JsonObject converse, string clientModel, long created)
    {
        ArgumentNullException.ThrowIfNull(converse);
        var texts = new List<string>();
        var reasoning = new List<string>();
        var toolCalls = new JsonArray();
        foreach (var block in (converse["output"]?["message"]?["content"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (Str(block["text"]) is { } text)
            {
                texts.Add(text);
            }
            else if (block["toolUse"] is JsonObject toolUse)
            {
                toolCalls.Add(ToolCall(Str(toolUse["toolUseId"]) ?? "", Str(toolUse["name"]) ?? "", toolUse["input"]?.ToJsonString() ?? "{}"));
            }
            else if (Str(block["reasoningContent"]?["reasoningText"]?["text"]) is { } thought)
            {
                reasoning.Add(thought);
            }
        }

        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = texts.Count == 0 ? null : string.Concat(texts),
        };
        if (toolCalls.Count > 0)
        {
            message["tool_calls"] = toolCalls;
        }

        if (reasoning.Count > 0)
        {
            message["reasoning_content"] = string.Concat(reasoning);
        }

        var usage = ReadUsage(converse["usage"] as JsonObject);
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        return (Completion(id, created, clientModel, message, FinishReason(Str(converse["stopReason"])), usage), usage);
    }

    /// <summary>Converse <c>stopReason</c> → OpenAI <c>finish_reason</c>.</summary>
    public static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "guardrail_intervened" or "content_filtered" => "content_filter",
        _ => "stop",
    };

    /// <summary>Converse <c>usage</c>: input (with cache reads and writes) and output tokens.</summary>
    public static TokenUsage ReadUsage(JsonObject? usage) => new()
    {
        PromptTokens = NumberOf(usage?["inputTokens"]) + NumberOf(usage?["cacheReadInputTokens"]) + NumberOf(usage?["cacheWriteInputTokens"]),
        CompletionTokens = NumberOf(usage?["outputTokens"]),
    };

    private static JsonObject? ToolChoice(JsonNode? choice) => choice switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s switch
        {
            "auto" => new JsonObject { ["auto"] = new JsonObject() },
            "required" => new JsonObject { ["any"] = new JsonObject() },
            _ => null,
        },
        JsonObject o when Str(o["function"]?["name"]) is { } name => new JsonObject { ["tool"] = new JsonObject { ["name"] = name } },
        _ => null,
    };

    private static JsonArray AssistantBlocks(JsonObject message)
    {
        var blocks = new JsonArray();
        var text = TextOf(message["content"]);
        if (text.Length > 0)
        {
            blocks.Add(new JsonObject { ["text"] = text });
        }

        foreach (var call in (message["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
        {
            blocks.Add(new JsonObject
            {
                ["toolUse"] = new JsonObject
                {
                    ["toolUseId"] = Str(call["id"]) ?? "",
                    ["name"] = Str(call["function"]?["name"]) ?? "",
                    ["input"] = ParseArguments(call["function"]?["arguments"]),
                },
            });
        }

        return blocks;
    }

    private static JsonArray UserBlocks(JsonNode? content)
    {
        if (content is not JsonArray parts)
        {
            return [new JsonObject { ["text"] = TextOf(content) }];
        }

        var blocks = new JsonArray();
        foreach (var part in parts.OfType<JsonObject>())
        {
            switch (Str(part["type"]))
            {
                case "text":
                    blocks.Add(new JsonObject { ["text"] = part["text"]?.DeepClone() });
                    break;
                case "image_url" when DataUrl(ImageUrl(part)) is { } image:
                    // Converse takes image bytes only (base64 in JSON); a remote URL is not fetched
                    blocks.Add(new JsonObject
                    {
                        ["image"] = new JsonObject
                        {
                            ["format"] = image.MediaType.StartsWith("image/", StringComparison.Ordinal) ? image.MediaType["image/".Length..].Replace("jpg", "jpeg", StringComparison.Ordinal) : "png",
                            ["source"] = new JsonObject { ["bytes"] = image.Data },
                        },
                    });
                    break;
            }
        }

        return blocks;
    }

    /// <summary>Converse wants alternating roles: consecutive turns of one role are merged.</summary>
    private static void Append(JsonArray messages, string role, JsonArray blocks)
    {
        if (blocks.Count == 0)
        {
            return;
        }

        if (messages.Count > 0 && messages[^1] is JsonObject last && Str(last["role"]) == role && last["content"] is JsonArray existing)
        {
            foreach (var block in blocks.ToList())
            {
                blocks.Remove(block);
                existing.Add(block);
            }

            return;
        }

        messages.Add(new JsonObject { ["role"] = role, ["content"] = blocks });
    }
}
