namespace Broker.Contracts.Inference;

/// <summary>
/// Worker → retry saga (queue <c>chat-completion-retries</c>): an attempt failed in a way a retry or a fallback may
/// fix. The worker did not answer the caller; the saga sends the next attempt or the final error to
/// <see cref="ResponseAddress"/>. Also Ingress → retry saga when a first attempt got no answer within its step
/// (<see cref="TimedOut"/>).
/// </summary>
public sealed record ChatCompletionAttemptFailed
{
    public required Guid RequestId { get; init; }

    /// <summary>The command of the attempt that failed, as the worker received it.</summary>
    public required CreateChatCompletion Command { get; init; }

    /// <summary>Where the caller waits (the Ingress instance's bus address).</summary>
    public required Uri ResponseAddress { get; init; }

    /// <summary>The failure, as the caller would have seen it.</summary>
    public required InferenceFailed Error { get; init; }

    /// <summary>Skip retries in the group and go to the fallbacks (mock_testing_fallbacks, every deployment cooling down).</summary>
    public bool FallbackOnly { get; init; }

    /// <summary>
    /// Sent by the Ingress: the first attempt neither answered nor reported by <see cref="CreateChatCompletion.StepDueAt"/>.
    /// The saga gives it up (its attempt ticket, unless it answered meanwhile) and plans the next step.
    /// </summary>
    public bool TimedOut { get; init; }

    /// <summary>How long the failed provider call took: a retry that would take as long must still fit before the deadline.</summary>
    public double AttemptMs { get; init; }
}
