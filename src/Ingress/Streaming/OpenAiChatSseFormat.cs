using System.Text.Json;
using System.Text.Json.Nodes;
using Broker.Ingress.Errors;

namespace Broker.Ingress.Streaming;

/// <summary>OpenAI's chat completion stream: <c>data: {chunk}</c> frames and <c>data: [DONE]</c>.</summary>
public sealed class OpenAiChatSseFormat(bool includeUsage) : ISseFormat
{
    public IEnumerable<string> Start() => [];

    public IEnumerable<string> Chunk(JsonObject chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var isUsageChunk = chunk["choices"] is JsonArray { Count: 0 } && chunk["usage"] is not null;
        if (isUsageChunk && !includeUsage)
        {
            return [];
        }

        if (!includeUsage && chunk.ContainsKey("usage"))
        {
            chunk.Remove("usage");
        }

        return ["data: " + chunk.ToJsonString() + "\n\n"];
    }

    public IEnumerable<string> Error(OpenAiErrorResult error)
    {
        ArgumentNullException.ThrowIfNull(error);
        // the stream still ends as OpenAI streams end, so clients that read until [DONE] stop here
        return ["data: " + JsonSerializer.Serialize(error.Error, IngressJsonContext.Default.OpenAiError) + "\n\n", "data: [DONE]\n\n"];
    }

    public IEnumerable<string> End() => ["data: [DONE]\n\n"];
}
