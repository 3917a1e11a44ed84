using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;

namespace Broker.Ingress.Features.ChatCompletions;

/// <summary>Checks a chat completion body the way OpenAI does, with OpenAI's messages, params and codes.</summary>
public static class ChatCompletionRequestValidator
{
    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function"];

    private static readonly string[] NumberParams = ["temperature", "top_p", "frequency_penalty", "presence_penalty"];

    private static readonly string[] IntegerParams = ["max_tokens", "max_completion_tokens", "n", "seed", "top_logprobs"];

    private static readonly string[] BooleanParams = ["stream", "logprobs", "parallel_tool_calls"];

    public static OpenAiErrorResult? Validate(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!body.TryGetPropertyValue("model", out var model) || model is null)
        {
            return OpenAiErrorResult.BadRequest("you must provide a model parameter", "model", "missing_required_parameter");
        }

        if (Kind(model) != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetValue<string>()))
        {
            return InvalidType("model", "a non-empty string", model);
        }

        if (!body.TryGetPropertyValue("messages", out var messages) || messages is null)
        {
            return OpenAiErrorResult.BadRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (messages is not JsonArray list)
        {
            return InvalidType("messages", "an array of objects", messages);
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
            if (body[name] is { } v && Kind(v) != JsonValueKind.Number)
            {
                return InvalidType(name, "a number", v);
            }
        }

        foreach (var name in IntegerParams)
        {
            if (body[name] is { } v && (Kind(v) != JsonValueKind.Number || !v.AsValue().TryGetValue<long>(out _)))
            {
                return InvalidType(name, "an integer", v);
            }
        }

        foreach (var name in BooleanParams)
        {
            if (body[name] is { } v && Kind(v) is not (JsonValueKind.True or JsonValueKind.False))
            {
                return InvalidType(name, "a boolean", v);
            }
        }

        if (body["stop"] is { } stop && Kind(stop) is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return InvalidType("stop", "a string or an array of strings", stop);
        }

        if (body["tools"] is { } tools && tools is not JsonArray)
        {
            return InvalidType("tools", "an array of objects", tools);
        }

        return null;
    }

    private static OpenAiErrorResult? ValidateMessage(JsonNode? node, string path)
    {
        if (node is not JsonObject message)
        {
            return InvalidType(path, "an object", node);
        }

        if (!message.TryGetPropertyValue("role", out var role) || role is null)
        {
            return OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.role'.", $"{path}.role", "missing_required_parameter");
        }

        if (Kind(role) != JsonValueKind.String || !Roles.Contains(role.GetValue<string>()))
        {
            return OpenAiErrorResult.BadRequest(
                $"Invalid value: {role.ToJsonString()}. Supported values are: {string.Join(", ", Roles.Select(r => $"'{r}'"))}.",
                $"{path}.role", "invalid_value");
        }

        if (message["content"] is { } content && Kind(content) is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return InvalidType($"{path}.content", "a string or an array of content parts", content);
        }

        return null;
    }

    private static OpenAiErrorResult InvalidType(string param, string expected, JsonNode? got) =>
        OpenAiErrorResult.BadRequest(
            $"Invalid type for '{param}': expected {expected}, but got {Describe(got)} instead.",
            param, "invalid_type");

    private static string Describe(JsonNode? node) => Kind(node) switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static JsonValueKind Kind(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;
}
