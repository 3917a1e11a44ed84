namespace Broker.Contracts.Inference;

/// <summary>Reply to <see cref="CreateChatCompletion"/>: the provider answered.</summary>
public sealed record ChatCompletionSucceeded
{
    public required Guid RequestId { get; init; }

    /// <summary>The chat completion as OpenAI JSON.</summary>
    public required string Body { get; init; }

    public required string ModelGroup { get; init; }

    public required string DeploymentId { get; init; }

    public required string Provider { get; init; }

    /// <summary>The queue the command was consumed from.</summary>
    public required string Queue { get; init; }

    public required TokenUsage Usage { get; init; }

    /// <summary>The request's cost in USD (x-litellm-response-cost); null when the model's price is unknown.</summary>
    public decimal? Cost { get; init; }

    /// <summary>Retries made before this answer (x-litellm-attempted-retries); on the first batch of a stream.</summary>
    public int AttemptedRetries { get; init; }

    /// <summary>Fallback groups moved to before this answer (x-litellm-attempted-fallbacks).</summary>
    public int AttemptedFallbacks { get; init; }
}
