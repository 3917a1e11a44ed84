namespace Broker.Contracts.Inference;

/// <summary>
/// Worker → the Ingress instance holding a streamed request: the next batch of OpenAI
/// <c>chat.completion.chunk</c> JSON objects. Batches carry consecutive sequence numbers from 0, so the
/// Ingress puts them in order and notices a lost one. The last batch has <see cref="IsLast"/>; a failure
/// is a last batch with <see cref="Error"/>.
/// </summary>
public sealed record ChatCompletionChunksStreamed
{
    public required Guid RequestId { get; init; }

    public required int Sequence { get; init; }

    /// <summary>
    /// The attempt (one consume of the command by one worker) that produced this batch: a command redelivered after
    /// its worker died runs again under a new id with sequences from 0 again, so the Ingress never joins two
    /// generations in one stream. Null from senders that predate it (and for answers made by the Ingress itself).
    /// </summary>
    public Guid? AttemptId { get; init; }

    /// <summary>Each entry one chunk as JSON; the usage chunk (empty choices) comes last when known.</summary>
    public required IReadOnlyList<string> Chunks { get; init; }

    public bool IsLast { get; init; }

    /// <summary>Where to send <see cref="CancelChatCompletion"/> (the worker's own bus address).</summary>
    public Uri? WorkerAddress { get; init; }

    public string? DeploymentId { get; init; }

    public string? ModelGroup { get; init; }

    public string? Queue { get; init; }

    /// <summary>
    /// On the last batch: the stream's tokens as the provider reported them, else counted (what the Ingress counts
    /// against tpm limits, whatever the API's chunk format).
    /// </summary>
    public TokenUsage? Usage { get; init; }

    /// <summary>Set on a failed last batch.</summary>
    public InferenceFailed? Error { get; init; }

    /// <summary>Retries made before this answer (x-litellm-attempted-retries); on the first batch of a stream.</summary>
    public int AttemptedRetries { get; init; }

    /// <summary>Fallback groups moved to before this answer (x-litellm-attempted-fallbacks).</summary>
    public int AttemptedFallbacks { get; init; }
}
