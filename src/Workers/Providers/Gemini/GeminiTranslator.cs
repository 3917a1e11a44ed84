using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using static Broker.Workers.Providers.OpenAiShapes;

namespace Broker.Workers.Providers.Gemini;

/// <summary>
/// OpenAI chat completions ⇄ Gemini <c>generateContent</c>: contents with user/model roles, systemInstruction,
/// inline images, function calls and responses, generationConfig, function declarations, finish reasons, usage.
/// </summary>
public static class GeminiTranslator
{
    /// <summary>Schema keys Gemini's OpenAPI-subset <c>parameters</c> rejects.</summary>
    private static readonly string[] UnsupportedSchemaKeys = ["$schema", "additionalProperties", "strict"];

    /// <summary>OpenAI request → Gemini <c>generateContent</c> request body.</summary>
    public static JsonObject ToGeminiRequest(JsonObject openAi)
    {
        ArgumentNullException.ThrowIfNull(openAi);
        var result = new JsonObject();
        var system = new List<string>();
        var contents = new JsonArray();
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var message in (openAi["messages"] as JsonArray ?? []).OfType<JsonObject>())
        {
            switch (Str(message["role"]) ?? "user")
            {
                case "system" or "developer":
                    system.Add(TextOf(message["content"]));
                    break;
                case "assistant":
                    Append(contents, "model", ModelParts(message, toolNames));
                    break;
                case "tool" or "function":
                    var callId = Str(message["tool_call_id"]);
                    var name = Str(message["name"]) ?? (callId is not null ? toolNames.GetValueOrDefault(callId) : null) ?? "";
                    var response = new JsonObject { ["name"] = name, ["response"] = ToolResponse(message["content"]) };
                    if (callId is not null && !callId.StartsWith("call_", StringComparison.Ordinal))
                    {
                        response["id"] = callId;
                    }

                    Append(contents, "user", [new JsonObject { ["functionResponse"] = response }]);
                    break;
                default:
                    Append(contents, "user", UserParts(message["content"]));
                    break;
            }
        }

        if (system.Count > 0)
        {
            result["systemInstruction"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = string.Join("\n\n", system) }) };
        }

        result["contents"] = contents;

        if (GenerationConfig(openAi) is { Count: > 0 } config)
        {
            result["generationConfig"] = config;
        }

        if (openAi["tools"] is JsonArray { Count: > 0 } tools)
        {
            var declarations = new JsonArray();
            foreach (var tool in tools.OfType<JsonObject>())
            {
                var function = tool["function"] as JsonObject ?? tool;
                var declaration = new JsonObject { ["name"] = function["name"]?.DeepClone() };
                if (function["description"] is { } description)
                {
                    declaration["description"] = description.DeepClone();
                }

                if (function["parameters"] is JsonObject parameters && parameters["properties"] is JsonObject { Count: > 0 })
                {
                    declaration["parameters"] = CleanSchema(parameters);
                }

                declarations.Add(declaration);
            }

            result["tools"] = new JsonArray(new JsonObject { ["functionDeclarations"] = declarations });
        }

        if (ToolConfig(openAi["tool_choice"]) is { } toolConfig)
        {
            result["toolConfig"] = toolConfig;
        }

        return result;
    }

    /// <summary>Gemini <c>GenerateContentResponse</c> → OpenAI chat completion.</summary>
    public static (JsonObject Completion, TokenUsage Usage) ToOpenAiCompletion(JsonObject gemini, string clientModel, long created)
    {
        ArgumentNullException.ThrowIfNull(gemini);
        var candidate = (gemini["candidates"] as JsonArray)?.FirstOrDefault() as JsonObject;
        var texts = new List<string>();
        var thoughts = new List<string>();
        var toolCalls = new JsonArray();
        foreach (var part in (candidate?["content"]?["parts"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (part["functionCall"] is JsonObject call)
            {
                toolCalls.Add(ToolCall(Str(call["id"]) ?? NewCallId(), Str(call["name"]) ?? "", call["args"]?.ToJsonString() ?? "{}"));
            }
            else if (Str(part["text"]) is { } text)
            {
                (part["thought"] is JsonValue t && t.TryGetValue<bool>(out var isThought) && isThought ? thoughts : texts).Add(text);
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

        if (thoughts.Count > 0)
        {
            message["reasoning_content"] = string.Concat(thoughts);
        }

        var finish = candidate is null && gemini["promptFeedback"]?["blockReason"] is not null
            ? "content_filter"
            : toolCalls.Count > 0 ? "tool_calls" : FinishReason(Str(candidate?["finishReason"]));
        var usage = ReadUsage(gemini["usageMetadata"] as JsonObject);
        var id = "chatcmpl-" + (Str(gemini["responseId"]) ?? Guid.NewGuid().ToString("N"));
        return (Completion(id, created, clientModel, message, finish, usage), usage);
    }

    /// <summary>Gemini <c>finishReason</c> → OpenAI <c>finish_reason</c>.</summary>
    public static string FinishReason(string? finishReason) => finishReason switch
    {
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" => "content_filter",
        _ => "stop",
    };

    /// <summary><c>usageMetadata</c> → token usage; thinking tokens count as completion tokens, as OpenAI counts reasoning.</summary>
    public static TokenUsage ReadUsage(JsonObject? usageMetadata) => new()
    {
        PromptTokens = NumberOf(usageMetadata?["promptTokenCount"]),
        CompletionTokens = NumberOf(usageMetadata?["candidatesTokenCount"]) + NumberOf(usageMetadata?["thoughtsTokenCount"]),
    };

    /// <summary>OpenAI embeddings request → Gemini <c>batchEmbedContents</c> body.</summary>
    public static JsonObject ToBatchEmbedRequest(JsonObject openAi, string model)
    {
        ArgumentNullException.ThrowIfNull(openAi);
        var inputs = openAi["input"] is JsonArray list ? list.Select(i => Str(i) ?? i?.ToJsonString() ?? "").ToList() : [Str(openAi["input"]) ?? ""];
        var requests = new JsonArray();
        foreach (var input in inputs)
        {
            var request = new JsonObject
            {
                ["model"] = "models/" + model,
                ["content"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = input }) },
            };
            if (openAi["dimensions"] is { } dimensions)
            {
                request["outputDimensionality"] = dimensions.DeepClone();
            }

            requests.Add(request);
        }

        return new JsonObject { ["requests"] = requests };
    }

    /// <summary>Gemini <c>batchEmbedContents</c> answer → OpenAI embedding list (Gemini reports no token usage).</summary>
    public static JsonObject ToOpenAiEmbeddings(JsonObject gemini, string clientModel)
    {
        ArgumentNullException.ThrowIfNull(gemini);
        var data = new JsonArray();
        var index = 0;
        foreach (var embedding in (gemini["embeddings"] as JsonArray ?? []).OfType<JsonObject>())
        {
            data.Add(new JsonObject { ["object"] = "embedding", ["index"] = index++, ["embedding"] = embedding["values"]?.DeepClone() ?? new JsonArray() });
        }

        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = clientModel,
            ["usage"] = new JsonObject { ["prompt_tokens"] = 0, ["total_tokens"] = 0 },
        };
    }

    public static string NewCallId() => "call_" + Guid.NewGuid().ToString("N")[..24];

    private static JsonObject GenerationConfig(JsonObject openAi)
    {
        var config = new JsonObject();
        void Copy(string to, params string[] from)
        {
            if (First(openAi, from) is { } value)
            {
                config[to] = value;
            }
        }

        Copy("temperature", "temperature");
        Copy("topP", "top_p");
        Copy("topK", "top_k");
        Copy("maxOutputTokens", "max_completion_tokens", "max_tokens");
        Copy("candidateCount", "n");
        Copy("seed", "seed");
        Copy("presencePenalty", "presence_penalty");
        Copy("frequencyPenalty", "frequency_penalty");
        if (StopList(openAi["stop"]) is { } stops)
        {
            config["stopSequences"] = stops;
        }

        if (openAi["response_format"] is JsonObject format)
        {
            switch (Str(format["type"]))
            {
                case "json_object":
                    config["responseMimeType"] = "application/json";
                    break;
                case "json_schema":
                    config["responseMimeType"] = "application/json";
                    if (format["json_schema"]?["schema"] is JsonObject schema)
                    {
                        config["responseJsonSchema"] = schema.DeepClone();
                    }

                    break;
            }
        }

        // reasoning_effort → a thinking budget, with LiteLLM's numbers
        var effort = Str(openAi["reasoning_effort"]);
        int? budget = effort switch
        {
            "none" or "disable" => 0,
            "minimal" or "low" => 1024,
            "medium" => 2048,
            "high" => 4096,
            _ => null,
        };
        if (budget is { } b)
        {
            config["thinkingConfig"] = new JsonObject { ["thinkingBudget"] = b, ["includeThoughts"] = b > 0 };
        }

        return config;
    }

    private static JsonObject? ToolConfig(JsonNode? choice)
    {
        JsonObject Mode(string mode, string? name = null)
        {
            var calling = new JsonObject { ["mode"] = mode };
            if (name is not null)
            {
                calling["allowedFunctionNames"] = new JsonArray(name);
            }

            return new JsonObject { ["functionCallingConfig"] = calling };
        }

        return choice switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s switch
            {
                "auto" => Mode("AUTO"),
                "required" => Mode("ANY"),
                "none" => Mode("NONE"),
                _ => null,
            },
            JsonObject o when Str(o["function"]?["name"]) is { } name => Mode("ANY", name),
            _ => null,
        };
    }

    private static JsonArray ModelParts(JsonObject message, Dictionary<string, string> toolNames)
    {
        var parts = new JsonArray();
        var text = TextOf(message["content"]);
        if (text.Length > 0)
        {
            parts.Add(new JsonObject { ["text"] = text });
        }

        foreach (var call in (message["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = Str(call["function"]?["name"]) ?? "";
            if (Str(call["id"]) is { } id)
            {
                toolNames[id] = name;
            }

            parts.Add(new JsonObject
            {
                ["functionCall"] = new JsonObject { ["name"] = name, ["args"] = ParseArguments(call["function"]?["arguments"]) },
            });
        }

        return parts;
    }

    private static JsonArray UserParts(JsonNode? content)
    {
        if (content is not JsonArray list)
        {
            return [new JsonObject { ["text"] = TextOf(content) }];
        }

        var parts = new JsonArray();
        foreach (var part in list.OfType<JsonObject>())
        {
            switch (Str(part["type"]))
            {
                case "text":
                    parts.Add(new JsonObject { ["text"] = part["text"]?.DeepClone() });
                    break;
                case "image_url":
                    var url = ImageUrl(part);
                    parts.Add(DataUrl(url) is { } data
                        ? new JsonObject { ["inlineData"] = new JsonObject { ["mimeType"] = data.MediaType, ["data"] = data.Data } }
                        : new JsonObject { ["fileData"] = new JsonObject { ["mimeType"] = GuessImageType(url), ["fileUri"] = url } });
                    break;
            }
        }

        return parts;
    }

    /// <summary>A function response must be an object: JSON objects go as they are, anything else under <c>content</c>.</summary>
    private static JsonObject ToolResponse(JsonNode? content)
    {
        var text = TextOf(content);
        try
        {
            if (JsonNode.Parse(text) is JsonObject parsed)
            {
                return parsed;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // plain text
        }

        return new JsonObject { ["content"] = text };
    }

    private static string GuessImageType(string url)
    {
        var path = url.Split('?')[0].ToLowerInvariant();
        return path.EndsWith(".png", StringComparison.Ordinal) ? "image/png"
            : path.EndsWith(".webp", StringComparison.Ordinal) ? "image/webp"
            : path.EndsWith(".gif", StringComparison.Ordinal) ? "image/gif"
            : "image/jpeg";
    }

    private static JsonObject CleanSchema(JsonObject schema)
    {
        var clean = (JsonObject)schema.DeepClone();
        Strip(clean);
        return clean;

        static void Strip(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject o:
                    foreach (var key in UnsupportedSchemaKeys)
                    {
                        o.Remove(key);
                    }

                    foreach (var (_, child) in o)
                    {
                        Strip(child);
                    }

                    break;
                case JsonArray a:
                    foreach (var child in a)
                    {
                        Strip(child);
                    }

                    break;
            }
        }
    }

    /// <summary>Consecutive turns of one role are merged (parallel function responses belong in one turn).</summary>
    private static void Append(JsonArray contents, string role, JsonArray parts)
    {
        if (parts.Count == 0)
        {
            return;
        }

        if (contents.Count > 0 && contents[^1] is JsonObject last && Str(last["role"]) == role && last["parts"] is JsonArray existing)
        {
            foreach (var part in parts.ToList())
            {
                parts.Remove(part);
                existing.Add(part);
            }

            return;
        }

        contents.Add(new JsonObject { ["role"] = role, ["parts"] = parts });
    }
}
