namespace Broker.Contracts.Inference;

/// <summary>Reply to <see cref="CreateRerank"/>: the provider answered.</summary>
public sealed record RerankSucceeded
{
    public required Guid RequestId { get; init; }

    /// <summary>The ranking in Cohere's shape: <c>{id, results: [{index, relevance_score, document?}], meta}</c>.</summary>
    public required string Body { get; init; }

    public required string ModelGroup { get; init; }

    public required string DeploymentId { get; init; }

    public required string Provider { get; init; }

    public required string Queue { get; init; }

    public required TokenUsage Usage { get; init; }

    /// <summary>The request's cost in USD (x-litellm-response-cost); null when the model's price is unknown.</summary>
    public decimal? Cost { get; init; }
}
