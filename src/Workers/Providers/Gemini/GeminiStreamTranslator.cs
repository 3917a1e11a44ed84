using System.Text.Json.Nodes;
using Broker.Contracts.Inference;
using static Broker.Workers.Providers.OpenAiShapes;

namespace Broker.Workers.Providers.Gemini;

/// <summary>
/// Gemini's streamed <c>GenerateContentResponse</c>s (<c>streamGenerateContent?alt=sse</c>) → OpenAI
/// <c>chat.completion.chunk</c>s; <see cref="Finish"/> ends with a finish chunk and a usage chunk.
/// </summary>
public sealed class GeminiStreamTranslator(string clientModel, long created) : IStreamTranslator
{
    private string? _id;
    private bool _sentRole;
    private bool _finished;
    private int _toolCalls;
    private TokenUsage _usage = new() { PromptTokens = 0, CompletionTokens = 0 };

    private string Id => _id ??= "chatcmpl-" + Guid.NewGuid().ToString("N");

    bool IStreamTranslator.Ended => false;

    IEnumerable<JsonObject> IStreamTranslator.Translate(string eventType, JsonObject data) => Translate(data);

    /// <summary>The OpenAI chunks one streamed Gemini response gives.</summary>
    public IEnumerable<JsonObject> Translate(JsonObject response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response["error"] is JsonObject error)
        {
            throw new ProviderStreamException(ProviderErrorClassifier.FromHttp("gemini", NumberOf(error["code"]) is > 0 and var code ? code : 500, response.ToJsonString(), null));
        }

        _id ??= Str(response["responseId"]) is { } responseId ? "chatcmpl-" + responseId : null;
        if (response["usageMetadata"] is JsonObject usage)
        {
            _usage = GeminiTranslator.ReadUsage(usage);
        }

        if (!_sentRole)
        {
            _sentRole = true;
            yield return Chunk(Id, created, clientModel, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
        }

        var candidate = (response["candidates"] as JsonArray)?.FirstOrDefault() as JsonObject;
        foreach (var part in (candidate?["content"]?["parts"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (part["functionCall"] is JsonObject call)
            {
                yield return Chunk(Id, created, clientModel, new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = _toolCalls++,
                        ["id"] = Str(call["id"]) ?? GeminiTranslator.NewCallId(),
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = Str(call["name"]) ?? "", ["arguments"] = call["args"]?.ToJsonString() ?? "{}" },
                    }),
                }, null);
            }
            else if (Str(part["text"]) is { Length: > 0 } text)
            {
                var thought = part["thought"] is JsonValue t && t.TryGetValue<bool>(out var isThought) && isThought;
                yield return Chunk(Id, created, clientModel, new JsonObject { [thought ? "reasoning_content" : "content"] = text }, null);
            }
        }

        if (!_finished && Str(candidate?["finishReason"]) is { } reason)
        {
            _finished = true;
            yield return Chunk(Id, created, clientModel, [], _toolCalls > 0 ? "tool_calls" : GeminiTranslator.FinishReason(reason));
        }
        else if (!_finished && candidate is null && response["promptFeedback"]?["blockReason"] is not null)
        {
            _finished = true;
            yield return Chunk(Id, created, clientModel, [], "content_filter");
        }
    }

    /// <summary>After the last event: the finish chunk if Gemini sent no finishReason, then the usage chunk.</summary>
    public IEnumerable<JsonObject> Finish()
    {
        if (!_sentRole)
        {
            _sentRole = true;
            yield return Chunk(Id, created, clientModel, new JsonObject { ["role"] = "assistant", ["content"] = "" }, null);
        }

        if (!_finished)
        {
            _finished = true;
            yield return Chunk(Id, created, clientModel, [], _toolCalls > 0 ? "tool_calls" : "stop");
        }

        yield return UsageChunk(Id, created, clientModel, _usage);
    }
}
