using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// Anthropic Messages ⇄ OpenAI chat completions, for clients that speak Anthropic's API (Claude Code, the
/// Anthropic SDKs) in front of Broker's internal OpenAI format. Fields with no OpenAI meaning
/// (<c>thinking</c>, <c>context_management</c>, <c>output_config</c>, <c>cache_control</c>…) are dropped.
/// </summary>
public static class AnthropicMessagesTranslator
{
    /// <summary>Anthropic <c>/v1/messages</c> request → OpenAI chat completion request.</summary>
    public static JsonObject ToOpenAiRequest(JsonObject anthropic)
    {
        ArgumentNullException.ThrowIfNull(anthropic);
        var messages = new JsonArray();
        if (SystemText(anthropic["system"]) is { Length: > 0 } system)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        }

        foreach (var message in (anthropic["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            switch (StringOf(message["role"]))
            {
                case "system" or "developer":
                    // Claude Code puts one here for some model names
                    if (SystemText(message["content"]) is { Length: > 0 } text)
                    {
                        messages.Add(new JsonObject { ["role"] = "system", ["content"] = text });
                    }

                    break;
                case "assistant":
                    messages.Add(AssistantMessage(message["content"]));
                    break;
                default:
                    AddUserMessages(messages, message["content"]);
                    break;
            }
        }

        var result = new JsonObject
        {
            ["model"] = Clone(anthropic["model"]),
            ["messages"] = messages,
        };

        foreach (var name in new[] { "max_tokens", "temperature", "top_p", "top_k", "stream" })
        {
            if (anthropic[name] is JsonValue value)
            {
                result[name] = value.DeepClone();
            }
        }

        // LiteLLM's routing controls ride along (the worker reads them, they never reach a provider)
        foreach (var name in new[] { "num_retries", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "mock_testing_fallbacks" })
        {
            if (anthropic[name] is { } control)
            {
                result[name] = control.DeepClone();
            }
        }

        if (anthropic["stop_sequences"] is JsonArray { Count: > 0 } stops)
        {
            result["stop"] = stops.DeepClone();
        }

        if (StringOf((anthropic["metadata"] as JsonObject)?["user_id"]) is { Length: > 0 } user)
        {
            result["user"] = user;
        }

        var tools = new JsonArray();
        foreach (var tool in (anthropic["tools"] as JsonArray ?? []).OfType<JsonObject>())
        {
            // server tools (web_search_…, bash_…) have a type and no schema: nothing an OpenAI model can call
            if (tool["input_schema"] is not JsonObject schema || StringOf(tool["type"]) is { } type && type != "custom")
            {
                continue;
            }

            var function = new JsonObject { ["name"] = Clone(tool["name"]) };
            if (tool["description"] is JsonValue description)
            {
                function["description"] = description.DeepClone();
            }

            function["parameters"] = schema.DeepClone();
            tools.Add(new JsonObject { ["type"] = "function", ["function"] = function });
        }

        if (tools.Count > 0)
        {
            result["tools"] = tools;
            if (anthropic["tool_choice"] is JsonObject choice)
            {
                if (ToolChoice(choice) is { } converted)
                {
                    result["tool_choice"] = converted;
                }

                if (choice["disable_parallel_tool_use"] is JsonValue disable && disable.TryGetValue<bool>(out var disabled) && disabled)
                {
                    result["parallel_tool_calls"] = false;
                }
            }
        }

        return result;
    }

    /// <summary>OpenAI chat completion → Anthropic message, named with the model the client asked for.</summary>
    public static JsonObject ToAnthropicMessage(JsonObject completion, string requestedModel)
    {
        ArgumentNullException.ThrowIfNull(completion);
        var choice = (completion["choices"] as JsonArray)?.FirstOrDefault() as JsonObject;
        var message = choice?["message"] as JsonObject;
        var content = new JsonArray();
        if (TextOf(message?["content"]) is { Length: > 0 } text)
        {
            content.Add(new JsonObject { ["type"] = "text", ["text"] = text });
        }

        foreach (var call in (message?["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
        {
            content.Add(new JsonObject
            {
                ["type"] = "tool_use",
                ["id"] = StringOf(call["id"]) ?? NewId("toolu_"),
                ["name"] = Clone(call["function"]?["name"]),
                ["input"] = ParseArguments(StringOf(call["function"]?["arguments"])),
            });
        }

        return new JsonObject
        {
            ["id"] = MessageId(StringOf(completion["id"])),
            ["type"] = "message",
            ["role"] = "assistant",
            ["model"] = requestedModel,
            ["content"] = content,
            ["stop_reason"] = StopReason(StringOf(choice?["finish_reason"])),
            ["stop_sequence"] = null,
            ["usage"] = Usage(completion["usage"] as JsonObject),
        };
    }

    /// <summary>OpenAI <c>finish_reason</c> → Anthropic <c>stop_reason</c>.</summary>
    public static string StopReason(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    };

    /// <summary>OpenAI usage → Anthropic usage (cached prompt tokens reported apart, as Anthropic does).</summary>
    public static JsonObject Usage(JsonObject? usage)
    {
        var prompt = Int(usage?["prompt_tokens"]);
        var cached = Math.Min(prompt, Int(usage?["prompt_tokens_details"]?["cached_tokens"]));
        return new JsonObject
        {
            ["input_tokens"] = prompt - cached,
            ["output_tokens"] = Int(usage?["completion_tokens"]),
            ["cache_creation_input_tokens"] = 0,
            ["cache_read_input_tokens"] = cached,
        };
    }

    /// <summary>An Anthropic-style message id: the completion's id when it already is one, else <c>msg_</c> + id.</summary>
    public static string MessageId(string? completionId)
    {
        if (string.IsNullOrEmpty(completionId))
        {
            return NewId("msg_");
        }

        var bare = completionId.StartsWith("chatcmpl-", StringComparison.Ordinal) ? completionId["chatcmpl-".Length..] : completionId;
        return bare.StartsWith("msg_", StringComparison.Ordinal) ? bare : "msg_" + bare;
    }

    /// <summary>Tool call arguments as a JSON object (an empty object when they are missing or not JSON).</summary>
    public static JsonNode ParseArguments(string? arguments)
    {
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return new JsonObject();
        }

        try
        {
            return JsonNode.Parse(arguments) ?? new JsonObject();
        }
        catch (JsonException)
        {
            return new JsonObject();
        }
    }

    private static JsonObject AssistantMessage(JsonNode? content)
    {
        var texts = new List<string>();
        var calls = new JsonArray();
        if (content is JsonArray blocks)
        {
            foreach (var block in blocks.OfType<JsonObject>())
            {
                switch (StringOf(block["type"]))
                {
                    case "text":
                        texts.Add(StringOf(block["text"]) ?? "");
                        break;
                    case "tool_use":
                        calls.Add(new JsonObject
                        {
                            ["id"] = Clone(block["id"]),
                            ["type"] = "function",
                            ["function"] = new JsonObject
                            {
                                ["name"] = Clone(block["name"]),
                                ["arguments"] = block["input"]?.ToJsonString() ?? "{}",
                            },
                        });
                        break;

                        // thinking and redacted_thinking carry signatures only Anthropic can check: dropped
                }
            }
        }
        else
        {
            texts.Add(StringOf(content) ?? "");
        }

        var text = string.Concat(texts);
        var message = new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = text.Length == 0 && calls.Count > 0 ? null : text,
        };
        if (calls.Count > 0)
        {
            message["tool_calls"] = calls;
        }

        return message;
    }

    /// <summary>
    /// A user turn: its tool_result blocks become <c>role: tool</c> messages (first, since they answer the
    /// previous assistant turn's calls), the rest one user message.
    /// </summary>
    private static void AddUserMessages(JsonArray messages, JsonNode? content)
    {
        if (content is not JsonArray blocks)
        {
            messages.Add(new JsonObject { ["role"] = "user", ["content"] = StringOf(content) ?? "" });
            return;
        }

        var parts = new JsonArray();
        foreach (var block in blocks.OfType<JsonObject>())
        {
            switch (StringOf(block["type"]))
            {
                case "text":
                    parts.Add(new JsonObject { ["type"] = "text", ["text"] = StringOf(block["text"]) ?? "" });
                    break;
                case "image":
                    if (ImageUrl(block["source"] as JsonObject) is { } url)
                    {
                        parts.Add(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = url } });
                    }

                    break;
                case "document" when StringOf(block["source"]?["type"]) == "text":
                    parts.Add(new JsonObject { ["type"] = "text", ["text"] = StringOf(block["source"]?["data"]) ?? "" });
                    break;
                case "tool_result":
                    messages.Add(new JsonObject
                    {
                        ["role"] = "tool",
                        ["tool_call_id"] = Clone(block["tool_use_id"]),
                        ["content"] = TextOf(block["content"]),
                    });
                    break;
            }
        }

        if (parts.Count == 0)
        {
            return;
        }

        // plain text goes as a string: every OpenAI-compatible server accepts that
        var allText = parts.All(p => StringOf(p!["type"]) == "text");
        messages.Add(new JsonObject
        {
            ["role"] = "user",
            ["content"] = allText ? string.Join("\n", parts.Select(p => StringOf(p!["text"]))) : parts,
        });
    }

    private static string? ImageUrl(JsonObject? source) => StringOf(source?["type"]) switch
    {
        "base64" => $"data:{StringOf(source!["media_type"]) ?? "image/png"};base64,{StringOf(source["data"])}",
        "url" => StringOf(source!["url"]),
        _ => null,
    };

    private static JsonNode? ToolChoice(JsonObject choice) => StringOf(choice["type"]) switch
    {
        "auto" => "auto",
        "any" => "required",
        "none" => "none",
        "tool" => new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = Clone(choice["name"]) },
        },
        _ => null,
    };

    /// <summary>The <c>system</c> field: a string, or text blocks (their <c>cache_control</c> ignored).</summary>
    private static string SystemText(JsonNode? system) => system switch
    {
        JsonArray blocks => string.Join("\n\n", blocks.OfType<JsonObject>()
            .Where(b => StringOf(b["type"]) is null or "text")
            .Select(b => StringOf(b["text"]) ?? "")
            .Where(t => t.Length > 0)),
        _ => StringOf(system) ?? "",
    };

    /// <summary>Text of a string or of content blocks (tool results, assistant turns).</summary>
    private static string TextOf(JsonNode? content) => content switch
    {
        JsonArray blocks => string.Join("\n", blocks.OfType<JsonObject>()
            .Where(b => StringOf(b["type"]) == "text")
            .Select(b => StringOf(b["text"]) ?? "")),
        _ => StringOf(content) ?? "",
    };

    private static string? StringOf(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    private static int Int(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<int>(out var i) ? i : 0;

    private static JsonNode? Clone(JsonNode? node) => node?.DeepClone();

    private static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N")[..24];
}
