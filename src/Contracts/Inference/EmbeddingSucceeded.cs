namespace Broker.Contracts.Inference;

/// <summary>Reply to <see cref="CreateEmbedding"/>: the provider answered.</summary>
public sealed record EmbeddingSucceeded
{
    public required Guid RequestId { get; init; }

    /// <summary>The embedding list as OpenAI JSON, in the encoding the client asked for.</summary>
    public required string Body { get; init; }

    public required string ModelGroup { get; init; }

    public required string DeploymentId { get; init; }

    public required string Provider { get; init; }

    public required string Queue { get; init; }

    public required TokenUsage Usage { get; init; }

    /// <summary>The request's cost in USD (x-litellm-response-cost); null when the model's price is unknown.</summary>
    public decimal? Cost { get; init; }
}
