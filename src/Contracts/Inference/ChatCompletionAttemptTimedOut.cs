namespace Broker.Contracts.Inference;

/// <summary>
/// Retry saga → itself (queue <c>chat-completion-retries</c>), sent with the attempt it guards and delivered when that
/// attempt's time is up: if the attempt has neither answered nor reported by then, the saga gives up on it and sends
/// the next step (a retry, a fallback or the final error).
/// </summary>
public sealed record ChatCompletionAttemptTimedOut
{
    public required Guid RequestId { get; init; }

    /// <summary>The attempt the timeout guards (the saga's attempt number, 1 = the first retry or fallback).</summary>
    public required int Attempt { get; init; }

    /// <summary>When the attempt's time is up; a timeout delivered earlier (a wait longer than the broker holds) waits again.</summary>
    public required DateTimeOffset DueAt { get; init; }
}
