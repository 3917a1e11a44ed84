using System.Text.Json.Nodes;

namespace Broker.Workers.Providers.Anthropic;

/// <summary>
/// Anthropic's stream events (message_start, content_block_*, message_delta, message_stop) → OpenAI
/// <c>chat.completion.chunk</c>s, ending with a finish chunk and a usage chunk.
/// </summary>
public sealed class AnthropicStreamTranslator(string clientModel, long created) : IStreamTranslator
{
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private int _inputTokens;
    private int _outputTokens;
    private bool _sentRole;

    bool IStreamTranslator.Ended => false;

    IEnumerable<JsonObject> IStreamTranslator.Finish() => [];

    /// <summary>The OpenAI chunks one Anthropic event gives (often none or one).</summary>
    public IEnumerable<JsonObject> Translate(string eventType, JsonObject data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var type = data["type"]?.GetValue<string>() ?? eventType;
        switch (type)
        {
            case "message_start":
                var message = data["message"] as JsonObject;
                if (message?["id"]?.GetValue<string>() is { } id)
                {
                    _id = "chatcmpl-" + id;
                }

                _inputTokens = InputTokens(message?["usage"] as JsonObject);
                _outputTokens = Int(message?["usage"]?["output_tokens"]);
                _sentRole = true;
                yield return Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
                break;

            case "content_block_start":
                var block = data["content_block"] as JsonObject;
                if (block?["type"]?.GetValue<string>() == "tool_use")
                {
                    var toolIndex = _toolIndexByBlock.Count;
                    _toolIndexByBlock[Int(data["index"])] = toolIndex;
                    yield return Chunk(new JsonObject
                    {
                        ["tool_calls"] = new JsonArray(new JsonObject
                        {
                            ["index"] = toolIndex,
                            ["id"] = block["id"]?.DeepClone(),
                            ["type"] = "function",
                            ["function"] = new JsonObject { ["name"] = block["name"]?.DeepClone(), ["arguments"] = "" },
                        }),
                    }, null);
                }
                else if (block?["type"]?.GetValue<string>() == "text" && block["text"]?.GetValue<string>() is { Length: > 0 } initial)
                {
                    yield return Chunk(new JsonObject { ["content"] = initial }, null);
                }

                break;

            case "content_block_delta":
                var delta = data["delta"] as JsonObject;
                switch (delta?["type"]?.GetValue<string>())
                {
                    case "text_delta":
                        yield return Chunk(new JsonObject { ["content"] = delta["text"]?.DeepClone() }, null);
                        break;
                    case "thinking_delta":
                        yield return Chunk(new JsonObject { ["reasoning_content"] = delta["thinking"]?.DeepClone() }, null);
                        break;
                    case "input_json_delta" when _toolIndexByBlock.TryGetValue(Int(data["index"]), out var toolIndex):
                        yield return Chunk(new JsonObject
                        {
                            ["tool_calls"] = new JsonArray(new JsonObject
                            {
                                ["index"] = toolIndex,
                                ["function"] = new JsonObject { ["arguments"] = delta["partial_json"]?.DeepClone() ?? "" },
                            }),
                        }, null);
                        break;
                }

                break;

            case "message_delta":
                if (data["usage"] is JsonObject usage)
                {
                    _outputTokens = Int(usage["output_tokens"]);
                    if (InputTokens(usage) is > 0 and var input)
                    {
                        _inputTokens = input;
                    }
                }

                var stopReason = data["delta"]?["stop_reason"]?.GetValue<string>();
                if (stopReason is not null)
                {
                    if (!_sentRole)
                    {
                        _sentRole = true;
                        yield return Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
                    }

                    yield return Chunk(new JsonObject(), AnthropicTranslator.FinishReason(stopReason));
                }

                break;

            case "message_stop":
                yield return UsageChunk();
                break;

            case "error":
                var error = data["error"] as JsonObject;
                var status = error?["type"]?.GetValue<string>() switch
                {
                    "overloaded_error" => 529,
                    "rate_limit_error" => 429,
                    "invalid_request_error" => 400,
                    _ => 500,
                };
                throw new ProviderStreamException(ProviderErrorClassifier.FromHttp("anthropic", status, data.ToJsonString(), null));
        }
    }

    private JsonObject UsageChunk() => new()
    {
        ["id"] = _id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = clientModel,
        ["choices"] = new JsonArray(),
        ["usage"] = new JsonObject
        {
            ["prompt_tokens"] = _inputTokens,
            ["completion_tokens"] = _outputTokens,
            ["total_tokens"] = _inputTokens + _outputTokens,
        },
    };

    private JsonObject Chunk(JsonObject delta, string? finishReason) => new()
    {
        ["id"] = _id,
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

    private static int InputTokens(JsonObject? usage) =>
        Int(usage?["input_tokens"]) + Int(usage?["cache_read_input_tokens"]) + Int(usage?["cache_creation_input_tokens"]);

    private static int Int(JsonNode? node) => node is JsonValue v && v.TryGetValue<int>(out var i) ? i : 0;
}
