namespace Broker.Contracts.Inference;

/// <summary>Reply to <see cref="CreateChatCompletion"/> or <see cref="CreateEmbedding"/>: no answer, with the error the client should see.</summary>
public sealed record InferenceFailed
{
    public required Guid RequestId { get; init; }

    /// <summary>HTTP status for the client.</summary>
    public required int StatusCode { get; init; }

    public required ProviderErrorClass ErrorClass { get; init; }

    public required string Message { get; init; }

    /// <summary>OpenAI error <c>type</c>.</summary>
    public required string Type { get; init; }

    /// <summary>OpenAI error <c>code</c>, when there is one.</summary>
    public string? Code { get; init; }

    public string? Param { get; init; }

    /// <summary>Seconds the provider asked to wait before retrying (Retry-After).</summary>
    public double? RetryAfterSeconds { get; init; }

    public string? DeploymentId { get; init; }

    public string? Queue { get; init; }
}
