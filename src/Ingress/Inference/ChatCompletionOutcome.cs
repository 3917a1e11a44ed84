using System.Text.Json.Nodes;
using Broker.Ingress.Errors;

namespace Broker.Ingress.Inference;

/// <summary>
/// A non-streamed answer: the worker's JSON body (parsed only when a caller needs the object, so a plain
/// OpenAI answer goes back to the client as the text it came in) with Broker's response headers, or an error.
/// </summary>
public sealed class ChatCompletionOutcome(string? body, OpenAiErrorResult? error, IReadOnlyDictionary<string, string> headers)
{
    private JsonObject? _completion;

    public ChatCompletionOutcome(JsonObject? completion, OpenAiErrorResult? error, IReadOnlyDictionary<string, string> headers)
        : this(completion?.ToJsonString(), error, headers)
    {
        _completion = completion;
    }

    /// <summary>The answer as JSON text, as the worker sent it.</summary>
    public string? Body { get; } = body;

    /// <summary>The answer as an object (parsed on first use).</summary>
    public JsonObject? Completion => _completion ??= Body is null ? null : JsonNode.Parse(Body)!.AsObject();

    public OpenAiErrorResult? Error { get; } = error;

    public IReadOnlyDictionary<string, string> Headers { get; } = headers;

    /// <summary>The request's id (<c>x-litellm-call-id</c>), the key of its spend log row; null when none was given.</summary>
    public Guid? RequestId => Headers.TryGetValue("x-litellm-call-id", out var id) && Guid.TryParse(id, out var parsed) ? parsed : null;
}
