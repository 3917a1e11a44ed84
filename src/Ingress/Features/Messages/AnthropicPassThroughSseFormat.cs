using System.Text.Json.Nodes;
using Broker.Ingress.Errors;
using Broker.Ingress.Streaming;

namespace Broker.Ingress.Features.Messages;

/// <summary>
/// An Anthropic deployment's own stream events, forwarded as they came: each chunk is an event's data object,
/// whose <c>type</c> is the event name.
/// </summary>
public sealed class AnthropicPassThroughSseFormat(string requestedModel) : ISseFormat
{
    public IEnumerable<string> Start() => [];

    public IEnumerable<string> Chunk(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var type = chunk["type"]?.GetValue<string>() ?? "message";
        if (type == "message_start" && chunk["message"] is JsonObject message)
        {
            message["model"] = requestedModel;
        }

        return [$"event: {type}\ndata: {chunk.ToJsonString()}\n\n"];
    }

    public IEnumerable<string> Error(OpenAiErrorResult error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return [$"event: error\ndata: {AnthropicErrorResult.From(error).ToJson().ToJsonString()}\n\n"];
    }

    public IEnumerable<string> End() => [];
}
