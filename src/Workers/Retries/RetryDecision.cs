using Broker.Config.Model;
using Broker.Contracts.Inference;

namespace Broker.Workers.Retries;

/// <summary>What happens after a failed attempt: the next attempt (in the same group or a fallback group), or the end.</summary>
public sealed record RetryDecision
{
    /// <summary>The group of the next attempt; null when the request is exhausted.</summary>
    public ModelGroup? Group { get; init; }

    /// <summary>The model name the next attempt asks for (the group's name, or the fallback entry for a wildcard group).</summary>
    public string? RequestedModel { get; init; }

    /// <summary>A fallback target named by deployment id pins that deployment.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>The next attempt's state, or (exhausted) the state with the last failure recorded.</summary>
    public required ChatCompletionRetry Next { get; init; }

    public bool IsFallback { get; init; }

    public bool Exhausted => Group is null;

    /// <summary>The error the caller gets when exhausted: the last failure, naming every attempt.</summary>
    public InferenceFailed? FinalError { get; init; }
}
