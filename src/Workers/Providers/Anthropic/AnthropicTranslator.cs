using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers.Anthropic;

/// <summary>OpenAI chat completions ⇄ Anthropic Messages: messages, system prompt, tools, stop reasons, usage.</summary>
public static class AnthropicTranslator
{
    public const int DefaultMaxTokens = 4096;

    /// <summary>OpenAI request → Anthropic <c>/v1/messages</c> request.</summary>
    public static JsonObject ToAnthropicRequest(JsonObject openAi, string model)
    {
        ArgumentNullException.ThrowIfNull(openAi);
        var result = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = Clone(openAi["max_completion_tokens"]) ?? Clone(openAi["max_tokens"]) ?? DefaultMaxTokens,
        };

        var system = new List<string>();
        var messages = new JsonArray();
        foreach (var node in openAi["messages"] as JsonArray ?? [])
        {
            if (node is not JsonObject message)
            {
                continue;
            }

            var role = message["role"]?.GetValue<string>() ?? "user";
            switch (role)
            {
                case "system" or "developer":
                    system.Add(TextOf(message["content"]));
                    break;
                case "assistant":
                    Append(messages, "assistant", AssistantBlocks(message));
                    break;
                case "tool" or "function":
                    Append(messages, "user", [new JsonObject
                    {
                        ["type"] = "tool_result",
                        ["tool_use_id"] = message["tool_call_id"]?.GetValue<string>() ?? message["name"]?.GetValue<string>() ?? "",
                        ["content"] = TextOf(message["content"]),
                    }]);
                    break;
                default:
                    Append(messages, "user", UserBlocks(message["content"]));
                    break;
            }
        }

        if (system.Count > 0)
        {
            result["system"] = string.Join("\n\n", system);
        }

        result["messages"] = messages;

        foreach (var name in new[] { "temperature", "top_p", "top_k" })
        {
            if (openAi[name] is { } value)
            {
                result[name] = Clone(value);
            }
        }

        switch (openAi["stop"])
        {
            case JsonValue stop when stop.TryGetValue<string>(out var s):
                result["stop_sequences"] = new JsonArray(s);
                break;
            case JsonArray stops:
                result["stop_sequences"] = Clone(stops);
                break;
        }

        if (openAi["user"] is JsonValue user && user.TryGetValue<string>(out var userId))
        {
            result["metadata"] = new JsonObject { ["user_id"] = userId };
        }

        if (openAi["tools"] is JsonArray tools && tools.Count > 0)
        {
            var converted = new JsonArray();
            foreach (var tool in tools.OfType<JsonObject>())
            {
                var function = tool["function"] as JsonObject ?? tool;
                var t = new JsonObject
                {
                    ["name"] = Clone(function["name"]),
                    ["input_schema"] = Clone(function["parameters"]) ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() },
                };
                if (function["description"] is { } description)
                {
                    t["description"] = Clone(description);
                }

                converted.Add(t);
            }

            result["tools"] = converted;
        }

        if (ToolChoice(openAi["tool_choice"]) is { } choice)
        {
            result["tool_choice"] = choice;
        }

        // reasoning_effort → extended thinking with a budget (as LiteLLM maps it); max_tokens must exceed the budget
        if (openAi["thinking"] is JsonObject thinking)
        {
            result["thinking"] = thinking.DeepClone();
        }
        else if (ThinkingBudget(openAi["reasoning_effort"]) is { } budget)
        {
            result["thinking"] = new JsonObject { ["type"] = "enabled", ["budget_tokens"] = budget };
        }

        if (result["thinking"]?["budget_tokens"] is JsonValue b && b.TryGetValue<int>(out var budgetTokens) &&
            result["max_tokens"] is JsonValue m && m.TryGetValue<int>(out var maxTokens) && maxTokens <= budgetTokens)
        {
            result["max_tokens"] = budgetTokens + DefaultMaxTokens;
        }

        if (result.ContainsKey("thinking"))
        {
            // Anthropic accepts no sampling changes with thinking on
            result.Remove("temperature");
            result.Remove("top_p");
            result.Remove("top_k");
        }

        return result;
    }

    /// <summary>Anthropic message response → OpenAI chat completion.</summary>
    public static (JsonObject Completion, TokenUsage Usage) ToOpenAiCompletion(JsonObject anthropic, string clientModel, long created)
    {
        ArgumentNullException.ThrowIfNull(anthropic);
        var texts = new List<string>();
        var thinking = new List<string>();
        var toolCalls = new JsonArray();
        foreach (var block in anthropic["content"] as JsonArray ?? [])
        {
            var type = block?["type"]?.GetValue<string>();
            if (type == "text")
            {
                texts.Add(block!["text"]?.GetValue<string>() ?? "");
            }
            else if (type == "thinking")
            {
                thinking.Add(block!["thinking"]?.GetValue<string>() ?? "");
            }
            else if (type == "tool_use")
            {
                toolCalls.Add(new JsonObject
                {
                    ["id"] = Clone(block!["id"]),
                    ["type"] = "function",
                    ["function"] = new JsonObject
                    {
                        ["name"] = Clone(block["name"]),
                        ["arguments"] = block["input"]?.ToJsonString() ?? "{}",
                    },
                });
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

        if (thinking.Count > 0)
        {
            message["reasoning_content"] = string.Concat(thinking);
        }

        var usageNode = anthropic["usage"] as JsonObject;
        var usage = new TokenUsage
        {
            PromptTokens = Int(usageNode?["input_tokens"]) + Int(usageNode?["cache_read_input_tokens"]) + Int(usageNode?["cache_creation_input_tokens"]),
            CompletionTokens = Int(usageNode?["output_tokens"]),
            CachedPromptTokens = Int(usageNode?["cache_read_input_tokens"]),
        };

        var completion = new JsonObject
        {
            ["id"] = "chatcmpl-" + (anthropic["id"]?.GetValue<string>() ?? Guid.NewGuid().ToString("N")),
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = clientModel,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["finish_reason"] = FinishReason(anthropic["stop_reason"]?.GetValue<string>()),
            }),
            ["usage"] = new JsonObject
            {
                ["prompt_tokens"] = usage.PromptTokens,
                ["completion_tokens"] = usage.CompletionTokens,
                ["total_tokens"] = usage.TotalTokens,
            },
        };
        return (completion, usage);
    }

    /// <summary>LiteLLM's budgets for reasoning_effort: low 1024, medium 2048, high 4096 thinking tokens.</summary>
    public static int? ThinkingBudget(JsonNode? reasoningEffort) =>
        (reasoningEffort as JsonValue)?.TryGetValue<string>(out var effort) == true
            ? effort switch
            {
                "minimal" or "low" => 1024,
                "medium" => 2048,
                "high" => 4096,
                _ => null,
            }
            : null;

    public static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    };

    private static JsonArray AssistantBlocks(JsonObject message)
    {
        var blocks = new JsonArray();
        var text = TextOf(message["content"]);
        if (text.Length > 0)
        {
            blocks.Add(new JsonObject { ["type"] = "text", ["text"] = text });
        }

        foreach (var call in message["tool_calls"] as JsonArray ?? [])
        {
            var function = call?["function"];
            JsonNode? input;
            try
            {
                input = JsonNode.Parse(function?["arguments"]?.GetValue<string>() ?? "{}");
            }
            catch (JsonException)
            {
                input = new JsonObject();
            }

            blocks.Add(new JsonObject
            {
                ["type"] = "tool_use",
                ["id"] = Clone(call?["id"]),
                ["name"] = Clone(function?["name"]),
                ["input"] = input ?? new JsonObject(),
            });
        }

        return blocks;
    }

    private static JsonArray UserBlocks(JsonNode? content)
    {
        if (content is JsonArray parts)
        {
            var blocks = new JsonArray();
            foreach (var part in parts.OfType<JsonObject>())
            {
                switch (part["type"]?.GetValue<string>())
                {
                    case "text":
                        blocks.Add(new JsonObject { ["type"] = "text", ["text"] = Clone(part["text"]) });
                        break;
                    case "image_url":
                        var url = (part["image_url"] is JsonObject img ? img["url"] : part["image_url"])?.GetValue<string>() ?? "";
                        blocks.Add(new JsonObject { ["type"] = "image", ["source"] = ImageSource(url) });
                        break;
                }
            }

            return blocks;
        }

        return [new JsonObject { ["type"] = "text", ["text"] = TextOf(content) }];
    }

    private static JsonObject ImageSource(string url)
    {
        // data:image/png;base64,AAAA
        if (url.StartsWith("data:", StringComparison.Ordinal))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = url[5..Math.Max(5, comma)];
            var mediaType = header.Split(';')[0];
            return new JsonObject { ["type"] = "base64", ["media_type"] = mediaType, ["data"] = url[(comma + 1)..] };
        }

        return new JsonObject { ["type"] = "url", ["url"] = url };
    }

    /// <summary>Anthropic wants alternating roles: consecutive turns of one role are merged.</summary>
    private static void Append(JsonArray messages, string role, JsonArray blocks)
    {
        if (blocks.Count == 0)
        {
            return;
        }

        if (messages.Count > 0 && messages[^1] is JsonObject last && last["role"]?.GetValue<string>() == role &&
            last["content"] is JsonArray existing)
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

    private static JsonObject? ToolChoice(JsonNode? choice) => choice switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s switch
        {
            "auto" => new JsonObject { ["type"] = "auto" },
            "required" => new JsonObject { ["type"] = "any" },
            "none" => new JsonObject { ["type"] = "none" },
            _ => null,
        },
        JsonObject o when o["function"]?["name"] is { } name => new JsonObject { ["type"] = "tool", ["name"] = Clone(name) },
        _ => null,
    };

    private static string TextOf(JsonNode? content) => content switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Join("\n", parts.OfType<JsonObject>()
            .Where(p => p["type"]?.GetValue<string>() == "text")
            .Select(p => p["text"]?.GetValue<string>() ?? "")),
        _ => content.ToJsonString(),
    };

    private static int Int(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i : 0;

    private static JsonNode? Clone(JsonNode? node) => node?.DeepClone();
}
