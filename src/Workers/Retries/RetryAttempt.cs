using System.Globalization;
using Broker.Contracts.Inference;

namespace Broker.Workers.Retries;

/// <summary>One attempt of a request that went through the retry saga, as the saga saw it (kept in its state, logged at the end).</summary>
public sealed record RetryAttempt
{
    /// <summary>0 = the first attempt (sent by the Ingress), 1 = the first retry or fallback, ...</summary>
    public required int Attempt { get; init; }

    public required string ModelGroup { get; init; }

    /// <summary>The deployment that served or failed it; null while it runs, when no deployment was picked, or when it timed out.</summary>
    public string? DeploymentId { get; init; }

    public required RetryAttemptStatus Status { get; init; }

    /// <summary>How it failed (null while running or when it succeeded).</summary>
    public ProviderErrorClass? ErrorClass { get; init; }

    public int? StatusCode { get; init; }

    /// <summary>When it was sent to be run (for a retry that waits out a backoff: when the backoff ends).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>From <see cref="StartedAt"/> to its answer, report or timeout; null while it runs.</summary>
    public double? LatencyMs { get; init; }

    /// <summary>One line for logs: <c>#2 backup/b1 succeeded 120 ms</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"#{Attempt + 1} {ModelGroup}/{DeploymentId ?? "-"} {Status}{(ErrorClass is { } c ? $" {c} {StatusCode}" : "")}{(LatencyMs is { } ms ? $" {ms:0} ms" : "")}");
}

public enum RetryAttemptStatus
{
    Running,
    Succeeded,
    Failed,
    TimedOut,
}
