using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;

namespace Broker.Ingress.Features.ChatCompletions;

/// <summary>Checks a chat completion body the way OpenAI does, with OpenAI's messages, params and codes.</summary>
public static class ChatCompletionRequestValidator
{
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    private static readonly string[] NumberParams = ["temperature", "top_p", "frequency_penalty", "presence_penalty"];

    private static readonly string[] IntegerParams = ["max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"];

    private static readonly string[] BooleanParams = ["stream", "logprobs", "parallel_tool_calls"];

    /// <summary>OpenAI's bounds on the integer parameters.</summary>
    private static readonly (string Name, long Min, long Max)[] IntegerRanges =
    [
        ("n", 1, 128), ("max_tokens", 1, int.MaxValue), ("max_completion_tokens", 1, int.MaxValue), ("top_logprobs", 0, 20),
    ];

    private static readonly string[] ObjectParams = ["metadata", "stream_options", "logit_bias"];

    private static readonly string[] ResponseFormats = ["text", "json_object", "json_schema"];

    public static OpenAiErrorResult? Validate(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!body.TryGetPropertyValue("model", out var model) || model is null)
        {
            return OpenAiErrorResult.BadRequest("you must provide a model parameter", "model", "missing_required_parameter");
        }

        if (JsonKinds.Kind(model) != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetValue<string>()))
        {
            return OpenAiErrorResult.InvalidType("model", "a non-empty string", model);
        }

        if (!body.TryGetPropertyValue("messages", out var messages) || messages is null)
        {
            return OpenAiErrorResult.BadRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (messages is not JsonArray list)
        {
            return OpenAiErrorResult.InvalidType("messages", "an array of objects", messages);
        }

        if (list.Count == 0)
        {
            return OpenAiErrorResult.BadRequest(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                "messages", "empty_array");
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (ValidateMessage(list[i], $"messages[{i}]") is { } error)
            {
                return error;
            }
        }

        foreach (var name in NumberParams)
        {
            if (body[name] is { } v && !JsonKinds.IsFiniteNumber(v))
            {
                return OpenAiErrorResult.InvalidType(name, "a number", v);
            }
        }

        foreach (var name in IntegerParams)
        {
            if (body[name] is { } v && (JsonKinds.Kind(v) != JsonValueKind.Number || !v.AsValue().TryGetValue<long>(out _)))
            {
                return OpenAiErrorResult.InvalidType(name, "an integer", v);
            }
        }

        foreach (var (name, min, max) in IntegerRanges)
        {
            if (body[name] is JsonValue v && v.TryGetValue<long>(out var n) && (n < min || n > max))
            {
                return OpenAiErrorResult.BadRequest(
                    $"Invalid '{name}': integer {(n < min ? "below minimum" : "above maximum")} value. Expected a value {(n < min ? $">= {min}" : $"<= {max}")}, but got {n} instead.",
                    name, n < min ? "integer_below_min_value" : "integer_above_max_value");
            }
        }

        if (ValidateCommon(body) is { } common)
        {
            return common;
        }

        foreach (var name in BooleanParams)
        {
            if (body[name] is { } v && JsonKinds.Kind(v) is not (JsonValueKind.True or JsonValueKind.False))
            {
                return OpenAiErrorResult.InvalidType(name, "a boolean", v);
            }
        }

        if (body["stop"] is { } stop && JsonKinds.Kind(stop) is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return OpenAiErrorResult.InvalidType("stop", "a string or an array of strings", stop);
        }

        if (body["tools"] is { } tools && (tools is not JsonArray toolList || toolList.Any(t => t is not JsonObject)))
        {
            return OpenAiErrorResult.InvalidType("tools", "an array of objects", tools);
        }

        if (body["response_format"] is { } format)
        {
            if (format is not JsonObject formatObject)
            {
                return OpenAiErrorResult.InvalidType("response_format", "an object", format);
            }

            if (formatObject["type"] is not JsonValue type || !type.TryGetValue<string>(out var typeName) || !ResponseFormats.Contains(typeName))
            {
                return OpenAiErrorResult.BadRequest(
                    $"Invalid value for 'response_format.type': supported values are {string.Join(", ", ResponseFormats.Select(f => $"'{f}'"))}.",
                    "response_format.type", "invalid_value");
            }
        }

        return null;
    }

    /// <summary>
    /// Checks shared by the OpenAI routes that take them: <c>metadata</c> and <c>stream_options</c> are objects,
    /// <c>user</c> a string.
    /// </summary>
    public static OpenAiErrorResult? ValidateCommon(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        foreach (var name in ObjectParams)
        {
            if (body[name] is { } v && v is not JsonObject)
            {
                return OpenAiErrorResult.InvalidType(name, "an object", v);
            }
        }

        if (body["user"] is { } user && JsonKinds.Kind(user) != JsonValueKind.String)
        {
            return OpenAiErrorResult.InvalidType("user", "a string", user);
        }

        return null;
    }

    private static OpenAiErrorResult? ValidateMessage(JsonNode? node, string path)
    {
        if (node is not JsonObject message)
        {
            return OpenAiErrorResult.InvalidType(path, "an object", node);
        }

        if (!message.TryGetPropertyValue("role", out var role) || role is null)
        {
            return OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.role'.", $"{path}.role", "missing_required_parameter");
        }

        if (JsonKinds.Kind(role) != JsonValueKind.String || !Roles.Contains(role.GetValue<string>()))
        {
            return OpenAiErrorResult.BadRequest(
                $"Invalid value: {role.ToJsonString()}. Supported values are: {string.Join(", ", Roles.Select(r => $"'{r}'"))}.",
                $"{path}.role", "invalid_value");
        }

        if (message["content"] is { } content &&
            (JsonKinds.Kind(content) is not (JsonValueKind.String or JsonValueKind.Array) || content is JsonArray parts && parts.Any(p => p is not JsonObject)))
        {
            return OpenAiErrorResult.InvalidType($"{path}.content", "a string or an array of content parts", content);
        }

        return null;
    }
}
