namespace Broker.Contracts.Inference;

/// <summary>Worker → retry saga: a retry or fallback attempt answered the caller; the saga ends.</summary>
public sealed record ChatCompletionAttemptSucceeded
{
    public required Guid RequestId { get; init; }

    public required int Attempt { get; init; }

    public required string ModelGroup { get; init; }

    public required string DeploymentId { get; init; }
}
