using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Streaming;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// Anthropic's Messages stream from OpenAI chunks: <c>message_start</c>, then per content block
/// <c>content_block_start</c> / <c>content_block_delta</c> (<c>text_delta</c> or <c>input_json_delta</c>) /
/// <c>content_block_stop</c>, then <c>message_delta</c> (stop reason, usage) and <c>message_stop</c>.
/// Each frame is <c>event: type\ndata: json\n\n</c>. One instance per request: it tracks the open block.
/// </summary>
public sealed class AnthropicSseFormat(string messageId, string requestedModel, int estimatedInputTokens = 0) : ISseFormat
{
    private int _blockIndex = -1;
    private string? _openBlock;
    private int _openToolCall = -1;
    private string? _stopReason;
    private JsonObject? _usage;

    public IEnumerable<string> Start() =>
    [
        Frame("message_start", new JsonObject
        {
            ["type"] = "message_start",
            ["message"] = new JsonObject
            {
                ["id"] = messageId,
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = requestedModel,
                ["content"] = new JsonArray(),
                ["stop_reason"] = null,
                ["stop_sequence"] = null,
                ["usage"] = new JsonObject
                {
                    ["input_tokens"] = estimatedInputTokens,
                    ["output_tokens"] = 0,
                    ["cache_creation_input_tokens"] = 0,
                    ["cache_read_input_tokens"] = 0,
                },
            },
        }),
    ];

    public IEnumerable<string> Chunk(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var frames = new List<string>();
        if (chunk["usage"] is JsonObject usage)
        {
            _usage = usage;
        }

        if ((chunk["choices"] as JsonArray)?.FirstOrDefault() is not JsonObject choice)
        {
            return frames;
        }

        var delta = choice["delta"] as JsonObject;
        if (delta?["content"] is JsonValue content && content.TryGetValue<string>(out var text) && text.Length > 0)
        {
            if (_openBlock != "text")
            {
                Open(frames, new JsonObject { ["type"] = "text", ["text"] = "" }, "text");
            }

            frames.Add(Delta(new JsonObject { ["type"] = "text_delta", ["text"] = text }));
        }

        foreach (var call in (delta?["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var index = call["index"] is JsonValue i && i.TryGetValue<int>(out var n) ? n : 0;
            var id = call["id"] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;
            if (_openBlock != "tool_use" || index != _openToolCall)
            {
                Open(frames, new JsonObject
                {
                    ["type"] = "tool_use",
                    ["id"] = id ?? "toolu_" + Guid.NewGuid().ToString("N")[..24],
                    ["name"] = call["function"]?["name"]?.DeepClone() ?? "",
                    ["input"] = new JsonObject(),
                }, "tool_use");
                _openToolCall = index;
            }

            if (call["function"]?["arguments"] is JsonValue a && a.TryGetValue<string>(out var arguments) && arguments.Length > 0)
            {
                frames.Add(Delta(new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = arguments }));
            }
        }

        if (choice["finish_reason"] is JsonValue f && f.TryGetValue<string>(out var finish))
        {
            _stopReason = AnthropicMessagesTranslator.StopReason(finish);
        }

        return frames;
    }

    public IEnumerable<string> Error(OpenAiErrorResult error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return [Frame("error", AnthropicErrorResult.From(error).ToJson())];
    }

    public IEnumerable<string> End()
    {
        var frames = new List<string>();
        Close(frames);
        var usage = AnthropicMessagesTranslator.Usage(_usage);
        frames.Add(Frame("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = _stopReason ?? "end_turn", ["stop_sequence"] = null },
            ["usage"] = _usage is null
                ? new JsonObject { ["output_tokens"] = 0 }
                : new JsonObject
                {
                    ["input_tokens"] = usage["input_tokens"]!.DeepClone(),
                    ["output_tokens"] = usage["output_tokens"]!.DeepClone(),
                    ["cache_read_input_tokens"] = usage["cache_read_input_tokens"]!.DeepClone(),
                },
        }));
        frames.Add(Frame("message_stop", new JsonObject { ["type"] = "message_stop" }));
        return frames;
    }

    private void Open(List<string> frames, JsonObject block, string type)
    {
        Close(frames);
        _blockIndex++;
        _openBlock = type;
        frames.Add(Frame("content_block_start", new JsonObject
        {
            ["type"] = "content_block_start",
            ["index"] = _blockIndex,
            ["content_block"] = block,
        }));
    }

    private void Close(List<string> frames)
    {
        if (_openBlock is null)
        {
            return;
        }

        frames.Add(Frame("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = _blockIndex }));
        _openBlock = null;
        _openToolCall = -1;
    }

    private string Delta(JsonObject delta) =>
        Frame("content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = _blockIndex, ["delta"] = delta });

    private static string Frame(string type, JsonObject data) => $"event: {type}\ndata: {data.ToJsonString()}\n\n";
}
