using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Features.Responses;

/// <summary>
/// Builds OpenAI Responses API <c>response</c> objects: from a finished chat completion (non-streamed), or from
/// output items assembled while streaming. Request settings are echoed back as OpenAI does, so SDKs find every
/// field they read.
/// </summary>
public static class ResponseObject
{
    /// <summary>A new id with OpenAI's prefix for its kind: <c>resp</c>, <c>msg</c>, <c>fc</c>, <c>rs</c>.</summary>
    public static string NewId(string prefix) => $"{prefix}_{Guid.NewGuid():N}";

    /// <summary>The response for a non-streamed chat completion of <paramref name="request"/> (the Responses request).</summary>
    public static JsonObject FromChatCompletion(JsonObject request, JsonObject completion, string id, long createdAt)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(completion);
        var output = new JsonArray();
        string? finishReason = null;
        if (completion["choices"] is JsonArray { Count: > 0 } choices && choices[0] is JsonObject choice)
        {
            finishReason = Text(choice["finish_reason"]);
            var message = choice["message"] as JsonObject ?? [];
            if (Text(message["reasoning_content"]) is { Length: > 0 } reasoning)
            {
                output.Add(new JsonObject
                {
                    ["type"] = "reasoning",
                    ["id"] = NewId("rs"),
                    ["summary"] = new JsonArray(new JsonObject { ["type"] = "summary_text", ["text"] = reasoning }),
                });
            }

            var content = new JsonArray();
            if (Text(message["content"]) is { Length: > 0 } text)
            {
                content.Add(OutputText(text));
            }

            if (Text(message["refusal"]) is { Length: > 0 } refusal)
            {
                content.Add(new JsonObject { ["type"] = "refusal", ["refusal"] = refusal });
            }

            var toolCalls = message["tool_calls"] as JsonArray ?? [];
            if (content.Count > 0 || toolCalls.Count == 0)
            {
                if (content.Count == 0)
                {
                    content.Add(OutputText(""));
                }

                output.Add(Message(NewId("msg"), "completed", content));
            }

            foreach (var call in toolCalls.OfType<JsonObject>())
            {
                output.Add(FunctionCall(
                    NewId("fc"),
                    Text(call["id"]) ?? NewId("call"),
                    Text(call["function"]?["name"]) ?? "",
                    Text(call["function"]?["arguments"]) ?? "",
                    "completed"));
            }
        }

        var (status, incomplete) = Outcome(finishReason);
        return Create(request, id, Text(completion["model"]) ?? Text(request["model"]) ?? "", createdAt, status, output, Usage(completion["usage"] as JsonObject), incomplete, null);
    }

    /// <summary>The whole response envelope.</summary>
    public static JsonObject Create(
        JsonObject request, string id, string model, long createdAt, string status, JsonArray output, JsonObject? usage, JsonObject? incompleteDetails, JsonObject? error)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "response",
            ["created_at"] = createdAt,
            ["status"] = status,
            ["background"] = false,
            ["error"] = error,
            ["incomplete_details"] = incompleteDetails,
            ["instructions"] = Echo(request["instructions"]),
            ["max_output_tokens"] = Echo(request["max_output_tokens"]),
            ["model"] = model,
            ["output"] = output,
            ["parallel_tool_calls"] = request["parallel_tool_calls"] is JsonValue p && p.GetValueKind() == JsonValueKind.False ? false : true,
            ["previous_response_id"] = null,
            ["reasoning"] = new JsonObject { ["effort"] = Echo(request["reasoning"]?["effort"]), ["summary"] = null },
            ["store"] = false,
            ["temperature"] = Echo(request["temperature"]),
            ["text"] = request["text"] is JsonObject text && text["format"] is JsonObject ? text.DeepClone() : new JsonObject { ["format"] = new JsonObject { ["type"] = "text" } },
            ["tool_choice"] = Echo(request["tool_choice"]) ?? "auto",
            ["tools"] = Echo(request["tools"]) ?? new JsonArray(),
            ["top_p"] = Echo(request["top_p"]),
            ["truncation"] = "disabled",
            ["usage"] = usage,
            ["user"] = Echo(request["user"]),
            ["metadata"] = Echo(request["metadata"]) ?? new JsonObject(),
        };
    }

    /// <summary>Status and incomplete_details for a chat finish_reason: <c>length</c> is max_output_tokens, <c>content_filter</c> likewise incomplete.</summary>
    public static (string Status, JsonObject? IncompleteDetails) Outcome(string? finishReason) => finishReason switch
    {
        "length" => ("incomplete", new JsonObject { ["reason"] = "max_output_tokens" }),
        "content_filter" => ("incomplete", new JsonObject { ["reason"] = "content_filter" }),
        _ => ("completed", null),
    };

    /// <summary>Chat usage (prompt/completion tokens) as Responses usage (input/output tokens), or null when absent.</summary>
    public static JsonObject? Usage(JsonObject? usage)
    {
        if (usage is null)
        {
            return null;
        }

        var input = Integer(usage["prompt_tokens"]);
        var output = Integer(usage["completion_tokens"]);
        return new JsonObject
        {
            ["input_tokens"] = input,
            ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = Integer(usage["prompt_tokens_details"]?["cached_tokens"]) },
            ["output_tokens"] = output,
            ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = Integer(usage["completion_tokens_details"]?["reasoning_tokens"]) },
            ["total_tokens"] = usage["total_tokens"] is { } total ? Integer(total) : input + output,
        };
    }

    public static JsonObject OutputText(string text) =>
        new() { ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() };

    public static JsonObject Message(string id, string status, JsonArray content) =>
        new() { ["type"] = "message", ["id"] = id, ["status"] = status, ["role"] = "assistant", ["content"] = content };

    public static JsonObject FunctionCall(string id, string callId, string name, string arguments, string status) =>
        new() { ["type"] = "function_call", ["id"] = id, ["call_id"] = callId, ["name"] = name, ["arguments"] = arguments, ["status"] = status };

    private static JsonNode? Echo(JsonNode? node) => node?.DeepClone();

    private static string? Text(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static long Integer(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<long>(out var n) ? n : node is JsonValue d && d.TryGetValue<double>(out var x) ? (long)x : 0;
}
