using System.Text.Json.Nodes;
using Broker.Ingress.Errors;

namespace Broker.Ingress.Streaming;

/// <summary>
/// A check between a stream and its client (guardrails): may hold the first frame until a parallel check passed, see
/// and rewrite or hold back chunks, and refuse the end of the stream.
/// </summary>
public interface IStreamGate
{
    /// <summary>Awaited before the first frame is written; an error is then the client's HTTP answer.</summary>
    Task<OpenAiErrorResult?> BeforeFirstFrameAsync(CancellationToken cancellationToken);

    /// <summary>The chunks to write now for <paramref name="chunk"/> (none while held back).</summary>
    IReadOnlyList<JsonObject> Chunk(JsonObject chunk);

    /// <summary>Before the last event: an error to send instead of it, or the held-back chunks to write first.</summary>
    Task<(OpenAiErrorResult? Error, IReadOnlyList<JsonObject> Held)> BeforeEndAsync(CancellationToken cancellationToken);

    /// <summary>The stream of request <paramref name="requestId"/> is over, however it ended (answered, refused, failed, client gone).</summary>
    void Ended(Guid requestId);
}
