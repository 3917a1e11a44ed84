namespace Broker.Contracts.Inference;

/// <summary>Ingress → worker: the client went away; stop the upstream call and free the slot.</summary>
public sealed record CancelChatCompletion
{
    public required Guid RequestId { get; init; }

    /// <summary>Only this attempt (<see cref="ChatCompletionChunksStreamed.AttemptId"/>); null = every attempt of the request.</summary>
    public Guid? AttemptId { get; init; }
}
