using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Http;

namespace Broker.Ingress.Features.Responses;

/// <summary>
/// Checks an OpenAI Responses request (<c>POST /v1/responses</c>) and turns it into the chat completion request
/// every worker understands. Stateful features (stored responses, conversations, background runs) and
/// OpenAI-hosted tools have nothing to run on behind a gateway: they are refused with a 400, not ignored.
/// </summary>
public static class ResponsesRequestTranslator
{
    private static readonly string[] MessageRoles = ["user", "assistant", "system", "developer"];

    /// <summary>Request fields that need state Broker does not keep.</summary>
    private static readonly string[] StatefulParams = ["previous_response_id", "conversation", "prompt"];

    public static (JsonObject? Chat, OpenAiErrorResult? Error) Translate(JsonObject body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body["model"] is not JsonValue model || model.GetValueKind() != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetValue<string>()))
        {
            return Fail(OpenAiErrorResult.BadRequest("you must provide a model parameter", "model", "missing_required_parameter"));
        }

        foreach (var name in StatefulParams)
        {
            if (body[name] is { } value && JsonKinds.Kind(value) != JsonValueKind.Null)
            {
                return Fail(Unsupported(name, $"'{name}' is not supported: Broker does not store responses or conversations. Send the whole conversation in 'input'."));
            }
        }

        if (body["background"] is { } background && JsonKinds.Kind(background) == JsonValueKind.True)
        {
            return Fail(Unsupported("background", "'background' mode is not supported: Broker does not store responses."));
        }

        var chat = new JsonObject { ["model"] = model.DeepClone() };
        var messages = new JsonArray();
        if (body["instructions"] is { } instructions && JsonKinds.Kind(instructions) != JsonValueKind.Null)
        {
            if (JsonKinds.Kind(instructions) != JsonValueKind.String)
            {
                return Fail(OpenAiErrorResult.InvalidType("instructions", "a string", instructions));
            }

            messages.Add(new JsonObject { ["role"] = "system", ["content"] = instructions.DeepClone() });
        }

        if (AddInput(body["input"], messages) is { } inputError)
        {
            return Fail(inputError);
        }

        chat["messages"] = messages;
        if (CopyOptions(body, chat) is { } optionError)
        {
            return Fail(optionError);
        }

        Inference.RetryControls.Copy(body, chat);
        return (chat, null);
    }

    private static OpenAiErrorResult? AddInput(JsonNode? input, JsonArray messages)
    {
        switch (input)
        {
            case null:
                return OpenAiErrorResult.BadRequest("Missing required parameter: 'input'.", "input", "missing_required_parameter");
            case JsonValue text when text.GetValueKind() == JsonValueKind.String:
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = text.DeepClone() });
                return null;
            case JsonArray { Count: 0 }:
                return OpenAiErrorResult.BadRequest("Invalid 'input': empty array. Expected an array with minimum length 1.", "input", "empty_array");
            case JsonArray items:
                for (var i = 0; i < items.Count; i++)
                {
                    if (AddItem(items[i], $"input[{i}]", messages) is { } error)
                    {
                        return error;
                    }
                }

                return null;
            default:
                return OpenAiErrorResult.InvalidType("input", "a string or an array of input items", input);
        }
    }

    private static OpenAiErrorResult? AddItem(JsonNode? node, string path, JsonArray messages)
    {
        if (node is not JsonObject item)
        {
            return OpenAiErrorResult.InvalidType(path, "an object", node);
        }

        var type = item["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : "message";
        switch (type)
        {
            case "message":
                return AddMessage(item, path, messages);
            case "function_call":
                return AddFunctionCall(item, path, messages);
            case "function_call_output":
                if (RequiredString(item, "call_id", path, out var callId) is { } callIdError)
                {
                    return callIdError;
                }

                if (ToolOutput(item["output"], $"{path}.output", out var output) is { } outputError)
                {
                    return outputError;
                }

                messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = callId, ["content"] = output });
                return null;
            case "reasoning":
                // a previous turn's reasoning: chat completions has no place for it, and providers regenerate it
                return null;
            case "item_reference":
                return Unsupported($"{path}.type", "Input items of type 'item_reference' are not supported: Broker does not store responses. Send the item itself.");
            default:
                return Unsupported($"{path}.type", $"Input items of type '{type}' are not supported by Broker; supported: message, function_call, function_call_output, reasoning.");
        }
    }

    private static OpenAiErrorResult? AddMessage(JsonObject item, string path, JsonArray messages)
    {
        if (item["role"] is not JsonValue roleValue || roleValue.GetValueKind() != JsonValueKind.String)
        {
            return OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.role'.", $"{path}.role", "missing_required_parameter");
        }

        var role = roleValue.GetValue<string>();
        if (!MessageRoles.Contains(role))
        {
            return OpenAiErrorResult.BadRequest(
                $"Invalid value: '{role}'. Supported values are: {string.Join(", ", MessageRoles.Select(r => $"'{r}'"))}.",
                $"{path}.role", "invalid_value");
        }

        JsonNode content;
        switch (item["content"])
        {
            case JsonValue text when text.GetValueKind() == JsonValueKind.String:
                content = text.DeepClone();
                break;
            case JsonArray parts:
                var chatParts = new JsonArray();
                for (var i = 0; i < parts.Count; i++)
                {
                    if (ContentPart(parts[i]) is not { } part)
                    {
                        return PartError(parts[i], $"{path}.content[{i}]");
                    }

                    chatParts.Add(part);
                }

                // one text part is just a string: the form every provider translation takes
                content = chatParts is [JsonObject { } only] && only["type"]?.GetValue<string>() == "text"
                    ? only["text"]!.DeepClone()
                    : chatParts;
                break;
            case null:
                return OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.content'.", $"{path}.content", "missing_required_parameter");
            default:
                return OpenAiErrorResult.InvalidType($"{path}.content", "a string or an array of content parts", item["content"]);
        }

        messages.Add(new JsonObject { ["role"] = role, ["content"] = content });
        return null;
    }

    /// <summary>A Responses content part as a chat content part, or null when it has none (see <see cref="PartError"/>).</summary>
    private static JsonObject? ContentPart(JsonNode? node)
    {
        if (node is not JsonObject part || part["type"] is not JsonValue typeValue || typeValue.GetValueKind() != JsonValueKind.String)
        {
            return null;
        }

        switch (typeValue.GetValue<string>())
        {
            case "input_text" or "output_text" or "text" when part["text"] is JsonValue text && text.GetValueKind() == JsonValueKind.String:
                return new JsonObject { ["type"] = "text", ["text"] = text.DeepClone() };
            case "refusal" when part["refusal"] is JsonValue refusal && refusal.GetValueKind() == JsonValueKind.String:
                return new JsonObject { ["type"] = "text", ["text"] = refusal.DeepClone() };
            case "input_image" when part["image_url"] is JsonValue url && url.GetValueKind() == JsonValueKind.String:
                var image = new JsonObject { ["url"] = url.DeepClone() };
                if (part["detail"] is JsonValue detail && detail.GetValueKind() == JsonValueKind.String)
                {
                    image["detail"] = detail.DeepClone();
                }

                return new JsonObject { ["type"] = "image_url", ["image_url"] = image };
            default:
                return null;
        }
    }

    private static OpenAiErrorResult PartError(JsonNode? node, string path)
    {
        if (node is not JsonObject part)
        {
            return OpenAiErrorResult.InvalidType(path, "an object", node);
        }

        var type = part["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : null;
        return type switch
        {
            null => OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.type'.", $"{path}.type", "missing_required_parameter"),
            "input_text" or "output_text" or "text" => OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.text'.", $"{path}.text", "missing_required_parameter"),
            "refusal" => OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.refusal'.", $"{path}.refusal", "missing_required_parameter"),
            "input_image" => Unsupported($"{path}.image_url", "Images must be given as 'image_url' (a URL or a data: URL); 'file_id' is not supported by Broker."),
            _ => Unsupported($"{path}.type", $"Content parts of type '{type}' are not supported by Broker; supported: input_text, input_image (image_url), output_text, refusal."),
        };
    }

    private static OpenAiErrorResult? AddFunctionCall(JsonObject item, string path, JsonArray messages)
    {
        if (RequiredString(item, "call_id", path, out var callId) is { } callIdError)
        {
            return callIdError;
        }

        if (RequiredString(item, "name", path, out var name) is { } nameError)
        {
            return nameError;
        }

        if (RequiredString(item, "arguments", path, out var arguments) is { } argumentsError)
        {
            return argumentsError;
        }

        var call = new JsonObject
        {
            ["id"] = callId,
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments },
        };

        // parallel calls (and the text before them) are one assistant turn in chat completions
        if (messages.Count > 0 && messages[^1] is JsonObject last && last["role"]?.GetValue<string>() == "assistant")
        {
            if (last["tool_calls"] is not JsonArray calls)
            {
                last["tool_calls"] = calls = [];
            }

            calls.Add(call);
            return null;
        }

        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) });
        return null;
    }

    private static OpenAiErrorResult? ToolOutput(JsonNode? output, string path, out JsonNode? content)
    {
        content = null;
        switch (output)
        {
            case JsonValue text when text.GetValueKind() == JsonValueKind.String:
                content = text.DeepClone();
                return null;
            case JsonArray parts:
                var texts = new List<string>();
                for (var i = 0; i < parts.Count; i++)
                {
                    if (ContentPart(parts[i]) is not { } part || part["type"]?.GetValue<string>() != "text")
                    {
                        return Unsupported($"{path}[{i}]", "Function call outputs must be a string or text parts.");
                    }

                    texts.Add(part["text"]!.GetValue<string>());
                }

                content = string.Concat(texts);
                return null;
            case null:
                return OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}'.", path, "missing_required_parameter");
            default:
                return OpenAiErrorResult.InvalidType(path, "a string", output);
        }
    }

    private static OpenAiErrorResult? CopyOptions(JsonObject body, JsonObject chat)
    {
        foreach (var (from, to) in new[] { ("temperature", "temperature"), ("top_p", "top_p") })
        {
            if (body[from] is { } value && JsonKinds.Kind(value) != JsonValueKind.Null)
            {
                if (!JsonKinds.IsFiniteNumber(value))
                {
                    return OpenAiErrorResult.InvalidType(from, "a number", value);
                }

                chat[to] = value.DeepClone();
            }
        }

        if (body["max_output_tokens"] is { } max && JsonKinds.Kind(max) != JsonValueKind.Null)
        {
            if (JsonKinds.Kind(max) != JsonValueKind.Number || !max.AsValue().TryGetValue<long>(out var maxTokens))
            {
                return OpenAiErrorResult.InvalidType("max_output_tokens", "an integer", max);
            }

            if (maxTokens < 1)
            {
                return OpenAiErrorResult.BadRequest(
                    $"Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 1, but got {maxTokens} instead.",
                    "max_output_tokens", "integer_below_min_value");
            }

            chat["max_tokens"] = max.DeepClone();
        }

        foreach (var name in new[] { "stream", "parallel_tool_calls", "store" })
        {
            if (body[name] is { } flag && JsonKinds.Kind(flag) is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
            {
                return OpenAiErrorResult.InvalidType(name, "a boolean", flag);
            }
        }

        if (body["parallel_tool_calls"] is JsonValue parallel && parallel.GetValueKind() != JsonValueKind.Null)
        {
            chat["parallel_tool_calls"] = parallel.DeepClone();
        }

        if (body["stream"] is JsonValue stream && stream.GetValueKind() == JsonValueKind.True)
        {
            chat["stream"] = true;
            chat["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        if (body["user"] is { } user && JsonKinds.Kind(user) != JsonValueKind.Null)
        {
            if (JsonKinds.Kind(user) != JsonValueKind.String)
            {
                return OpenAiErrorResult.InvalidType("user", "a string", user);
            }

            chat["user"] = user.DeepClone();
        }

        if (body["metadata"] is { } metadata && JsonKinds.Kind(metadata) is not (JsonValueKind.Object or JsonValueKind.Null))
        {
            return OpenAiErrorResult.InvalidType("metadata", "an object", metadata);
        }

        return Tools(body, chat) ?? ToolChoice(body, chat) ?? TextFormat(body, chat) ?? Reasoning(body, chat);
    }

    private static OpenAiErrorResult? Tools(JsonObject body, JsonObject chat)
    {
        switch (body["tools"])
        {
            case null:
                return null;
            case JsonArray tools:
                var chatTools = new JsonArray();
                for (var i = 0; i < tools.Count; i++)
                {
                    if (tools[i] is not JsonObject tool)
                    {
                        return OpenAiErrorResult.InvalidType($"tools[{i}]", "an object", tools[i]);
                    }

                    var type = tool["type"] is JsonValue t && t.GetValueKind() == JsonValueKind.String ? t.GetValue<string>() : null;
                    if (type != "function")
                    {
                        return Unsupported($"tools[{i}].type",
                            $"Tools of type '{type}' are not supported by Broker: OpenAI's built-in tools run only on OpenAI. Declare a 'function' tool instead.");
                    }

                    if (RequiredString(tool, "name", $"tools[{i}]", out var name) is { } nameError)
                    {
                        return nameError;
                    }

                    var function = new JsonObject { ["name"] = name };
                    foreach (var key in new[] { "description", "parameters", "strict" })
                    {
                        if (tool[key] is { } value && JsonKinds.Kind(value) != JsonValueKind.Null)
                        {
                            function[key] = value.DeepClone();
                        }
                    }

                    chatTools.Add(new JsonObject { ["type"] = "function", ["function"] = function });
                }

                if (chatTools.Count > 0)
                {
                    chat["tools"] = chatTools;
                }

                return null;
            default:
                return OpenAiErrorResult.InvalidType("tools", "an array of objects", body["tools"]);
        }
    }

    private static OpenAiErrorResult? ToolChoice(JsonObject body, JsonObject chat)
    {
        switch (body["tool_choice"])
        {
            case null:
                return null;
            case JsonValue mode when mode.GetValueKind() == JsonValueKind.String:
                var value = mode.GetValue<string>();
                if (value is not ("auto" or "none" or "required"))
                {
                    return OpenAiErrorResult.BadRequest(
                        $"Invalid value: '{value}'. Supported values are: 'auto', 'none' and 'required'.", "tool_choice", "invalid_value");
                }

                chat["tool_choice"] = value;
                return null;
            case JsonObject choice when choice["type"]?.GetValueKind() == JsonValueKind.String && choice["type"]!.GetValue<string>() == "function":
                if (RequiredString(choice, "name", "tool_choice", out var name) is { } nameError)
                {
                    return nameError;
                }

                chat["tool_choice"] = new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name } };
                return null;
            case JsonObject choice:
                return Unsupported("tool_choice.type",
                    $"tool_choice of type '{choice["type"]?.ToJsonString()}' is not supported by Broker; use 'auto', 'none', 'required' or {{\"type\": \"function\", \"name\": ...}}.");
            default:
                return OpenAiErrorResult.InvalidType("tool_choice", "a string or an object", body["tool_choice"]);
        }
    }

    private static OpenAiErrorResult? TextFormat(JsonObject body, JsonObject chat)
    {
        if (body["text"] is not { } text || JsonKinds.Kind(text) == JsonValueKind.Null)
        {
            return null;
        }

        if (text is not JsonObject options)
        {
            return OpenAiErrorResult.InvalidType("text", "an object", text);
        }

        if (options["verbosity"] is JsonValue verbosity && verbosity.GetValueKind() == JsonValueKind.String)
        {
            chat["verbosity"] = verbosity.DeepClone();
        }

        if (options["format"] is not { } formatNode || JsonKinds.Kind(formatNode) == JsonValueKind.Null)
        {
            return null;
        }

        if (formatNode is not JsonObject format || format["type"] is not JsonValue typeValue || typeValue.GetValueKind() != JsonValueKind.String)
        {
            return OpenAiErrorResult.BadRequest("Missing required parameter: 'text.format.type'.", "text.format.type", "missing_required_parameter");
        }

        switch (typeValue.GetValue<string>())
        {
            case "text":
                return null;
            case "json_object":
                chat["response_format"] = new JsonObject { ["type"] = "json_object" };
                return null;
            case "json_schema":
                if (RequiredString(format, "name", "text.format", out var name) is { } nameError)
                {
                    return nameError;
                }

                if (format["schema"] is not JsonObject schema)
                {
                    return OpenAiErrorResult.BadRequest("Missing required parameter: 'text.format.schema'.", "text.format.schema", "missing_required_parameter");
                }

                var jsonSchema = new JsonObject { ["name"] = name, ["schema"] = schema.DeepClone() };
                foreach (var key in new[] { "description", "strict" })
                {
                    if (format[key] is { } value && JsonKinds.Kind(value) != JsonValueKind.Null)
                    {
                        jsonSchema[key] = value.DeepClone();
                    }
                }

                chat["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = jsonSchema };
                return null;
            default:
                return OpenAiErrorResult.BadRequest(
                    $"Invalid value: '{typeValue.GetValue<string>()}'. Supported values are: 'text', 'json_object' and 'json_schema'.",
                    "text.format.type", "invalid_value");
        }
    }

    private static OpenAiErrorResult? Reasoning(JsonObject body, JsonObject chat)
    {
        if (body["reasoning"] is not { } reasoning || JsonKinds.Kind(reasoning) == JsonValueKind.Null)
        {
            return null;
        }

        if (reasoning is not JsonObject options)
        {
            return OpenAiErrorResult.InvalidType("reasoning", "an object", reasoning);
        }

        if (options["effort"] is { } effort && JsonKinds.Kind(effort) != JsonValueKind.Null)
        {
            if (JsonKinds.Kind(effort) != JsonValueKind.String)
            {
                return OpenAiErrorResult.InvalidType("reasoning.effort", "a string", effort);
            }

            chat["reasoning_effort"] = effort.DeepClone();
        }

        return null;
    }

    private static OpenAiErrorResult? RequiredString(JsonObject item, string name, string path, out string value)
    {
        value = "";
        if (item[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            value = v.GetValue<string>();
            return null;
        }

        return item[name] is null
            ? OpenAiErrorResult.BadRequest($"Missing required parameter: '{path}.{name}'.", $"{path}.{name}", "missing_required_parameter")
            : OpenAiErrorResult.InvalidType($"{path}.{name}", "a string", item[name]);
    }

    private static (JsonObject? Chat, OpenAiErrorResult? Error) Fail(OpenAiErrorResult error) => (null, error);

    private static OpenAiErrorResult Unsupported(string param, string message) =>
        OpenAiErrorResult.BadRequest(message, param, "unsupported_parameter");
}
