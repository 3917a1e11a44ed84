using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Contracts.Inference;

namespace Broker.Workers.Providers;

/// <summary>The OpenAI answer shapes native providers translate into, and small JSON helpers they share.</summary>
public static class OpenAiShapes
{
    /// <summary>A <c>chat.completion</c> with one choice and its usage.</summary>
    public static JsonObject Completion(string id, long created, string clientModel, JsonObject message, string finishReason, TokenUsage usage) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion",
        ["created"] = created,
        ["model"] = clientModel,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["message"] = message,
            ["finish_reason"] = finishReason,
        }),
        ["usage"] = Usage(usage),
    };

    /// <summary>A <c>chat.completion.chunk</c> with one choice.</summary>
    public static JsonObject Chunk(string id, long created, string clientModel, JsonObject delta, string? finishReason) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = clientModel,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["delta"] = delta,
            ["finish_reason"] = finishReason,
        }),
    };

    /// <summary>The last chunk of a stream: no choices, the usage.</summary>
    public static JsonObject UsageChunk(string id, long created, string clientModel, TokenUsage usage) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = clientModel,
        ["choices"] = new JsonArray(),
        ["usage"] = Usage(usage),
    };

    public static JsonObject Usage(TokenUsage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return new JsonObject
        {
            ["prompt_tokens"] = usage.PromptTokens,
            ["completion_tokens"] = usage.CompletionTokens,
            ["total_tokens"] = usage.TotalTokens,
        };
    }

    /// <summary>One OpenAI tool call (<c>arguments</c> is a JSON string).</summary>
    public static JsonObject ToolCall(string id, string name, string arguments) => new()
    {
        ["id"] = id,
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
    };

    /// <summary>A tool call's <c>arguments</c> string as a JSON object (an empty one when it is not an object).</summary>
    public static JsonObject ParseArguments(JsonNode? arguments)
    {
        var text = Str(arguments);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    /// <summary>The text of an OpenAI message content: a string, or its text parts joined.</summary>
    public static string TextOf(JsonNode? content) => content switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Join("\n", parts.OfType<JsonObject>()
            .Where(p => Str(p["type"]) == "text")
            .Select(p => Str(p["text"]) ?? "")),
        _ => content.ToJsonString(),
    };

    /// <summary>An <c>image_url</c> part's URL (the object form or a bare string).</summary>
    public static string ImageUrl(JsonObject part)
    {
        ArgumentNullException.ThrowIfNull(part);
        return Str(part["image_url"] is JsonObject img ? img["url"] : part["image_url"]) ?? "";
    }

    /// <summary>Splits <c>data:image/png;base64,AAAA</c> into its media type and base64 data; null for other URLs.</summary>
    public static (string MediaType, string Data)? DataUrl(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.StartsWith("data:", StringComparison.Ordinal))
        {
            return null;
        }

        var comma = url.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0)
        {
            return null;
        }

        return (url[5..comma].Split(';')[0], url[(comma + 1)..]);
    }

    /// <summary>OpenAI's <c>stop</c> (a string or a list) as a list; null when absent.</summary>
    public static JsonArray? StopList(JsonNode? stop) => stop switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => new JsonArray(s),
        JsonArray list => (JsonArray)list.DeepClone(),
        _ => null,
    };

    public static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static int NumberOf(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i : 0;

    /// <summary>The value of the first of <paramref name="names"/> the request has, cloned.</summary>
    public static JsonNode? First(JsonObject request, params string[] names)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(names);
        foreach (var name in names)
        {
            if (request[name] is { } value)
            {
                return value.DeepClone();
            }
        }

        return null;
    }
}
