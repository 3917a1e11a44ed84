using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;

namespace Broker.Ingress.Features.Completions;

/// <summary>
/// Checks a legacy text completion request (<c>POST /v1/completions</c>) and turns each prompt into a chat
/// completion request with one user message. Token prompts and the options that need raw token access
/// (echo, suffix, best_of, logprobs) are refused with a 400.
/// </summary>
public static class CompletionRequestTranslator
{
    private static readonly string[] PassThrough = ["max_tokens", "temperature", "top_p", "n", "stop", "user", "presence_penalty", "frequency_penalty", "seed", "logit_bias"];

    private static readonly string[] NumberParams = ["temperature", "top_p", "presence_penalty", "frequency_penalty"];

    private static readonly string[] IntegerParams = ["max_tokens", "n", "seed"];

    /// <summary>One chat request per prompt (an array of strings is a batch of prompts), or the reason there are none.</summary>
    public static (IReadOnlyList<JsonObject>? Chats, OpenAiErrorResult? Error) Translate(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body["model"] is not JsonValue model || model.GetValueKind() != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetValue<string>()))
        {
            return Fail(OpenAiErrorResult.BadRequest("you must provide a model parameter", "model", "missing_required_parameter"));
        }

        var (prompts, promptError) = Prompts(body["prompt"]);
        if (promptError is not null)
        {
            return Fail(promptError);
        }

        if (Options(body) is { } optionError)
        {
            return Fail(optionError);
        }

        var stream = body["stream"] is JsonValue s && s.GetValueKind() == JsonValueKind.True;
        if (stream && prompts!.Count > 1)
        {
            return Fail(Unsupported("prompt", "Streaming a batch of prompts is not supported by Broker; send one prompt per streamed request."));
        }

        var chats = new List<JsonObject>();
        foreach (var prompt in prompts!)
        {
            var chat = new JsonObject
            {
                ["model"] = model.DeepClone(),
                ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt }),
            };
            foreach (var name in PassThrough)
            {
                if (body[name] is { } value && JsonKinds.Kind(value) != JsonValueKind.Null)
                {
                    chat[name] = value.DeepClone();
                }
            }

            Inference.RetryControls.Copy(body, chat);
            if (stream)
            {
                chat["stream"] = true;
                chat["stream_options"] = new JsonObject { ["include_usage"] = true };
            }

            chats.Add(chat);
        }

        return (chats, null);
    }

    private static (List<string>? Prompts, OpenAiErrorResult? Error) Prompts(JsonNode? prompt)
    {
        switch (prompt)
        {
            case null:
                return (null, OpenAiErrorResult.BadRequest("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"));
            case JsonValue text when text.GetValueKind() == JsonValueKind.String:
                return ([text.GetValue<string>()], null);
            case JsonArray { Count: 0 }:
                return (null, OpenAiErrorResult.BadRequest("Invalid 'prompt': empty array. Expected an array with minimum length 1.", "prompt", "empty_array"));
            case JsonArray list when list.All(i => JsonKinds.Kind(i) == JsonValueKind.String):
                return (list.Select(i => i!.GetValue<string>()).ToList(), null);
            case JsonArray list when list.All(i => JsonKinds.Kind(i) == JsonValueKind.Number || i is JsonArray):
                return (null, Unsupported("prompt",
                    "Token prompts (arrays of integers) are not supported by Broker: a model group may span providers with different tokenizers. Send the prompt as text."));
            default:
                return (null, OpenAiErrorResult.BadRequest(
                    $"Invalid type for 'prompt': expected a string or an array of strings, but got {JsonKinds.Describe(prompt)} instead.", "prompt", "invalid_type"));
        }
    }

    private static OpenAiErrorResult? Options(JsonObject body)
    {
        foreach (var name in NumberParams)
        {
            if (body[name] is { } v && JsonKinds.Kind(v) != JsonValueKind.Null && !JsonKinds.IsFiniteNumber(v))
            {
                return OpenAiErrorResult.InvalidType(name, "a number", v);
            }
        }

        foreach (var name in IntegerParams)
        {
            if (body[name] is { } v && JsonKinds.Kind(v) != JsonValueKind.Null && (JsonKinds.Kind(v) != JsonValueKind.Number || !v.AsValue().TryGetValue<long>(out _)))
            {
                return OpenAiErrorResult.InvalidType(name, "an integer", v);
            }
        }

        foreach (var name in new[] { "n", "max_tokens" })
        {
            if (body[name] is JsonValue v && v.TryGetValue<long>(out var n) && n < 1)
            {
                return OpenAiErrorResult.BadRequest(
                    $"Invalid '{name}': integer below minimum value. Expected a value >= 1, but got {n} instead.", name, "integer_below_min_value");
            }
        }

        if (ChatCompletions.ChatCompletionRequestValidator.ValidateCommon(body) is { } common)
        {
            return common;
        }

        if (body["stream"] is { } stream && JsonKinds.Kind(stream) is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
        {
            return OpenAiErrorResult.InvalidType("stream", "a boolean", stream);
        }

        if (body["stop"] is { } stop && JsonKinds.Kind(stop) is not (JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Null))
        {
            return OpenAiErrorResult.InvalidType("stop", "a string or an array of strings", stop);
        }

        if (body["user"] is { } user && JsonKinds.Kind(user) is not (JsonValueKind.String or JsonValueKind.Null))
        {
            return OpenAiErrorResult.InvalidType("user", "a string", user);
        }

        if (body["echo"] is { } echo && JsonKinds.Kind(echo) == JsonValueKind.True)
        {
            return Unsupported("echo", "'echo' is not supported by Broker: the prompt goes to the provider as a chat message.");
        }

        if (body["suffix"] is JsonValue suffix && suffix.GetValueKind() == JsonValueKind.String && suffix.GetValue<string>().Length > 0)
        {
            return Unsupported("suffix", "'suffix' (insertion) is not supported by Broker.");
        }

        if (body["best_of"] is JsonValue bestOf && bestOf.TryGetValue<long>(out var best) && best > 1)
        {
            return Unsupported("best_of", "'best_of' is not supported by Broker; use 'n' for several completions.");
        }

        if (body["logprobs"] is JsonValue logprobs && logprobs.TryGetValue<long>(out var count) && count > 0)
        {
            return Unsupported("logprobs", "'logprobs' is not supported on /v1/completions by Broker; use /v1/chat/completions with 'logprobs'.");
        }

        return null;
    }

    private static (IReadOnlyList<JsonObject>? Chats, OpenAiErrorResult? Error) Fail(OpenAiErrorResult error) => (null, error);

    private static OpenAiErrorResult Unsupported(string param, string message) =>
        OpenAiErrorResult.BadRequest(message, param, "unsupported_value");
}
