using System.Text.Json.Nodes;
using static Broker.Workers.Providers.OpenAiShapes;

namespace Broker.Workers.Providers.Bedrock;

/// <summary>
/// ConverseStream events (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata) → OpenAI
/// <c>chat.completion.chunk</c>s, ending with a finish chunk and a usage chunk.
/// </summary>
public sealed class BedrockStreamTranslator(string clientModel, long created)
{
    private readonly Dictionary<int, int> _toolIndexByBlock = [];
    private readonly string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private bool _sentRole;
    private string? _finish;

    /// <summary>True once the metadata event (the last one) arrived.</summary>
    public bool Ended { get; private set; }

    /// <summary>The OpenAI chunks one ConverseStream event gives.</summary>
    public IEnumerable<JsonObject> Translate(string eventType, JsonObject data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!_sentRole)
        {
            _sentRole = true;
            yield return Chunk(_id, created, clientModel, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
        }

        switch (eventType)
        {
            case "contentBlockStart" when (data["start"]?["toolUse"]) is JsonObject toolUse:
                var toolIndex = _toolIndexByBlock.Count;
                _toolIndexByBlock[NumberOf(data["contentBlockIndex"])] = toolIndex;
                yield return Chunk(_id, created, clientModel, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = toolIndex,
                        ["id"] = Str(toolUse["toolUseId"]) ?? "",
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = Str(toolUse["name"]) ?? "", ["arguments"] = "" },
                    }),
                }, null);
                break;

            case "contentBlockDelta":
                var delta = data["delta"] as JsonObject;
                if (Str(delta?["text"]) is { Length: > 0 } text)
                {
                    yield return Chunk(_id, created, clientModel, new JsonObject { ["content"] = text }, null);
                }
                else if (Str(delta?["toolUse"]?["input"]) is { Length: > 0 } input &&
                         _toolIndexByBlock.TryGetValue(NumberOf(data["contentBlockIndex"]), out var index))
                {
                    yield return Chunk(_id, created, clientModel, new JsonObject
                    {
                        ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = index, ["function"] = new JsonObject { ["arguments"] = input } }),
                    }, null);
                }
                else if (Str(delta?["reasoningContent"]?["text"]) is { Length: > 0 } thought)
                {
                    yield return Chunk(_id, created, clientModel, new JsonObject { ["reasoning_content"] = thought }, null);
                }

                break;

            case "messageStop":
                _finish = BedrockTranslator.FinishReason(Str(data["stopReason"]));
                yield return Chunk(_id, created, clientModel, [], _finish);
                break;

            case "metadata":
                Ended = true;
                if (_finish is null)
                {
                    _finish = "stop";
                    yield return Chunk(_id, created, clientModel, [], _finish);
                }

                yield return UsageChunk(_id, created, clientModel, BedrockTranslator.ReadUsage(data["usage"] as JsonObject));
                break;
        }
    }

    /// <summary>An exception message in the stream (<c>:message-type</c> exception) as the error it stands for.</summary>
    public static ProviderStreamException Exception(string? exceptionType, string payload)
    {
        var status = exceptionType switch
        {
            "throttlingException" or "modelNotReadyException" => 429,
            "validationException" => 400,
            "accessDeniedException" => 403,
            "modelTimeoutException" => 408,
            "serviceUnavailableException" => 503,
            _ => 500,
        };
        return new ProviderStreamException(ProviderErrorClassifier.FromHttp("bedrock", status, payload, null));
    }
}
