using System.Text.Json.Nodes;
using Broker.Ingress.Errors;

namespace Broker.Ingress.Streaming;

/// <summary>
/// Turns OpenAI chat completion chunks into one API's server-sent events (OpenAI chat, Anthropic messages,
/// OpenAI Responses). Each returned string is one whole SSE frame, e.g. <c>"data: {...}\n\n"</c>.
/// </summary>
public interface ISseFormat
{
    /// <summary>Frames sent once before the first chunk.</summary>
    IEnumerable<string> Start();

    IEnumerable<string> Chunk(JsonObject chunk);

    /// <summary>Frames for a failure after the stream has started (before that, the client gets an HTTP error).</summary>
    IEnumerable<string> Error(OpenAiErrorResult error);

    /// <summary>Frames after the last chunk.</summary>
    IEnumerable<string> End();
}
