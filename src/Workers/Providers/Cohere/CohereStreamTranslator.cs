using System.Text.Json.Nodes;
using static Broker.Workers.Providers.OpenAiShapes;

namespace Broker.Workers.Providers.Cohere;

/// <summary>
/// Cohere v2 chat stream events (message-start, content-delta, tool-call-start/delta, message-end) → OpenAI
/// <c>chat.completion.chunk</c>s, ending with a finish chunk and a usage chunk.
/// </summary>
public sealed class CohereStreamTranslator(string clientModel, long created) : IStreamTranslator
{
    private readonly Dictionary<int, int> _toolIndexByCohereIndex = [];
    private string _id = "chatcmpl-" + Guid.NewGuid().ToString("N");
    private bool _sentRole;
    private bool _ended;

    /// <summary>True once message-end arrived.</summary>
    public bool Ended => _ended;

    /// <summary>The OpenAI chunks one Cohere event gives (often none or one).</summary>
    public IEnumerable<JsonObject> Translate(string eventType, JsonObject data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var type = Str(data["type"]) ?? eventType;
        var delta = data["delta"]?["message"] as JsonObject;
        if (!_sentRole && type != "message-start")
        {
            _sentRole = true;
            yield return RoleChunk();
        }

        switch (type)
        {
            case "message-start":
                if (Str(data["id"]) is { } id)
                {
                    _id = "chatcmpl-" + id;
                }

                if (!_sentRole)
                {
                    _sentRole = true;
                    yield return RoleChunk();
                }

                break;

            case "content-delta":
                if (Str(delta?["content"]?["text"]) is { Length: > 0 } text)
                {
                    yield return Chunk(_id, created, clientModel, new JsonObject { ["content"] = text }, null);
                }
                else if (Str(delta?["content"]?["thinking"]) is { Length: > 0 } thinking)
                {
                    yield return Chunk(_id, created, clientModel, new JsonObject { ["reasoning_content"] = thinking }, null);
                }

                break;

            case "tool-call-start":
                var call = delta?["tool_calls"] as JsonObject;
                var toolIndex = _toolIndexByCohereIndex.Count;
                _toolIndexByCohereIndex[NumberOf(data["index"])] = toolIndex;
                yield return Chunk(_id, created, clientModel, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = toolIndex,
                        ["id"] = Str(call?["id"]) ?? "",
                        ["type"] = "function",
                        ["function"] = new JsonObject
                        {
                            ["name"] = Str(call?["function"]?["name"]) ?? "",
                            ["arguments"] = Str(call?["function"]?["arguments"]) ?? "",
                        },
                    }),
                }, null);
                break;

            case "tool-call-delta" when _toolIndexByCohereIndex.TryGetValue(NumberOf(data["index"]), out var index):
                if (Str(delta?["tool_calls"]?["function"]?["arguments"]) is { Length: > 0 } arguments)
                {
                    yield return Chunk(_id, created, clientModel, new JsonObject
                    {
                        ["tool_calls"] = new JsonArray(new JsonObject
                        {
                            ["index"] = index,
                            ["function"] = new JsonObject { ["arguments"] = arguments },
                        }),
                    }, null);
                }

                break;

            case "message-end":
                var end = data["delta"] as JsonObject;
                if (Str(end?["error"]) is { Length: > 0 } error)
                {
                    throw new ProviderStreamException(ProviderErrorClassifier.FromHttp("cohere", 500, new JsonObject { ["message"] = error }.ToJsonString(), null));
                }

                _ended = true;
                var finish = CohereTranslator.FinishReason(Str(end?["finish_reason"]));
                if (finish == "stop" && _toolIndexByCohereIndex.Count > 0)
                {
                    finish = "tool_calls";
                }

                yield return Chunk(_id, created, clientModel, [], finish);
                yield return UsageChunk(_id, created, clientModel, CohereTranslator.ReadUsage(end?["usage"] as JsonObject));
                break;
        }
    }

    private JsonObject RoleChunk() => Chunk(_id, created, clientModel, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);

    /// <summary>Called when the stream closed: one that closed before message-end broke off.</summary>
    public void Finish()
    {
        if (!_ended)
        {
            throw new ProviderStreamException(ProviderErrorClassifier.Unreachable("cohere", "stream ended before message-end"));
        }
    }

    IEnumerable<JsonObject> IStreamTranslator.Finish()
    {
        Finish();
        return [];
    }
}
