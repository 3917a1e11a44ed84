using Broker.Contracts.Inference;
using MassTransit;

namespace Broker.Workers.Retries;

/// <summary>
/// One request that needed more than its first attempt (keyed by its RequestId): where its caller waits and where
/// it stands in its retries and fallbacks. Removed when the request succeeds or is exhausted;
/// expires a minute after the request's deadline otherwise.
/// </summary>
public sealed class ChatCompletionRetryState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    /// <summary>Optimistic concurrency: each save checks and bumps it.</summary>
    public int Version { get; set; }

    public string? CurrentState { get; set; }

    /// <summary>The caller's address (the Ingress instance's bus endpoint).</summary>
    public string? ResponseAddress { get; set; }

    public DateTimeOffset Deadline { get; set; }

    /// <summary>The attempt running now (1 = the first retry or fallback); older attempts' reports are ignored.</summary>
    public int Attempt { get; set; }

    /// <summary>The group the running attempt was sent to.</summary>
    public string? ModelGroup { get; set; }

    /// <summary>The running attempt's retry state (counts, fallback chain, history).</summary>
    public ChatCompletionRetry? Retry { get; set; }

    /// <summary>
    /// The command of the running attempt, as it was sent (a step timeout re-plans from it); null before the first
    /// step went out.
    /// </summary>
    public CreateChatCompletion? Command { get; set; }

    /// <summary>Every attempt of the request so far, the first one included: group, deployment, outcome, timings.</summary>
    public List<RetryAttempt> Attempts { get; set; } = [];

    /// <summary>Set while handling a failure that left nothing to try.</summary>
    public bool Exhausted { get; set; }
}
