using System.Text.Json;
using System.Text.Json.Nodes;

namespace Broker.Ingress.Features.Messages;

/// <summary>Checks a Messages body the way Anthropic's API does, with its <c>field: problem</c> messages.</summary>
public static class MessagesRequestValidator
{
    private static readonly string[] Roles = ["user", "assistant", "system"];

    /// <param name="body">The request body.</param>
    /// <param name="requireMaxTokens">True for <c>/v1/messages</c>; count_tokens takes no max_tokens.</param>
    public static AnthropicErrorResult? Validate(JsonObject body, bool requireMaxTokens)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body["model"] is null)
        {
            return AnthropicErrorResult.BadRequest("model: Field required");
        }

        if (Kind(body["model"]) != JsonValueKind.String || string.IsNullOrWhiteSpace(body["model"]!.GetValue<string>()))
        {
            return AnthropicErrorResult.BadRequest("model: Input should be a non-empty string");
        }

        if (body["max_tokens"] is null)
        {
            if (requireMaxTokens)
            {
                return AnthropicErrorResult.BadRequest("max_tokens: Field required");
            }
        }
        else if (Kind(body["max_tokens"]) != JsonValueKind.Number || !body["max_tokens"]!.AsValue().TryGetValue<long>(out var maxTokens) || maxTokens < 1)
        {
            return AnthropicErrorResult.BadRequest("max_tokens: Input should be a valid integer, greater than or equal to 1");
        }

        if (body["messages"] is null)
        {
            return AnthropicErrorResult.BadRequest("messages: Field required");
        }

        if (body["messages"] is not JsonArray messages)
        {
            return AnthropicErrorResult.BadRequest("messages: Input should be a valid list");
        }

        if (messages.Count == 0)
        {
            return AnthropicErrorResult.BadRequest("messages: List should have at least 1 item after validation, not 0");
        }

        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not JsonObject message)
            {
                return AnthropicErrorResult.BadRequest($"messages.{i}: Input should be a valid dictionary");
            }

            if (Kind(message["role"]) != JsonValueKind.String || !Roles.Contains(message["role"]!.GetValue<string>()))
            {
                return AnthropicErrorResult.BadRequest($"messages.{i}.role: Input should be 'user' or 'assistant'");
            }

            if (Kind(message["content"]) is not (JsonValueKind.String or JsonValueKind.Array) ||
                message["content"] is JsonArray blocks && blocks.Any(b => b is not JsonObject))
            {
                return AnthropicErrorResult.BadRequest($"messages.{i}.content: Input should be a valid string or a list of content blocks");
            }
        }

        if (body["system"] is { } system && Kind(system) is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return AnthropicErrorResult.BadRequest("system: Input should be a valid string or a list of text blocks");
        }

        foreach (var name in new[] { "temperature", "top_p", "top_k" })
        {
            if (body[name] is { } value && !Http.JsonKinds.IsFiniteNumber(value))
            {
                return AnthropicErrorResult.BadRequest($"{name}: Input should be a valid number");
            }
        }

        if (body["stream"] is { } stream && Kind(stream) is not (JsonValueKind.True or JsonValueKind.False))
        {
            return AnthropicErrorResult.BadRequest("stream: Input should be a valid boolean");
        }

        if (body["stop_sequences"] is { } stops && stops is not JsonArray)
        {
            return AnthropicErrorResult.BadRequest("stop_sequences: Input should be a valid list");
        }

        if (body["tools"] is { } tools && (tools is not JsonArray toolList || toolList.Any(t => t is not JsonObject)))
        {
            return AnthropicErrorResult.BadRequest("tools: Input should be a valid list of tool objects");
        }

        if (body["metadata"] is { } metadata && metadata is not JsonObject)
        {
            return AnthropicErrorResult.BadRequest("metadata: Input should be a valid dictionary");
        }

        if (body["stop_sequences"] is JsonArray stopList && stopList.Any(s => Kind(s) != JsonValueKind.String))
        {
            return AnthropicErrorResult.BadRequest("stop_sequences: Input should be a list of strings");
        }

        return null;
    }

    private static JsonValueKind Kind(JsonNode? node) => node?.GetValueKind() ?? JsonValueKind.Null;
}
