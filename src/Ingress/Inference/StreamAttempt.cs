using Broker.Contracts.Inference;

namespace Broker.Ingress.Inference;

/// <summary>One attempt at a streamed request (a consume of its command) and the worker running it.</summary>
internal sealed record StreamAttempt(Uri WorkerAddress, Guid AttemptId)
{
    /// <summary>The attempt that sent <paramref name="batch"/>, when the batch says where its worker is (the first one does).</summary>
    public static StreamAttempt? Of(ChatCompletionChunksStreamed batch) =>
        batch is { WorkerAddress: { } worker, AttemptId: { } attempt } ? new StreamAttempt(worker, attempt) : null;
}
