using Broker.Contracts.Identity;
using Broker.Contracts.Inference;
using Broker.Workers.Providers;
using MassTransit;

namespace Broker.Workers.Inference;

/// <summary>
/// The attempt history's event for each attempt a consumer made (success or failure, first attempt, retry or
/// fallback), for Billing. An attempt that produced usage travels inside its <c>UsageRecorded</c>
/// (<see cref="AttemptReporting.AttemptWithUsage"/>); the others are published on their own. Health probes are not reported.
/// </summary>
public static class AttemptReport
{
    /// <summary>The event for one attempt; null for a health probe, which has no history.</summary>
    public static InferenceAttempted? Create(
        Guid requestId, ChatCompletionRetry? retry, string groupName, string? deploymentId, ProviderError? error,
        double latencyMs, bool healthCheck, Caller? caller, DateTimeOffset now) =>
        healthCheck
            ? null
            : new InferenceAttempted
            {
                RequestId = requestId,
                AttemptId = NewId.NextGuid(),
                Attempt = (retry?.Attempt ?? 0) + 1,
                OriginalModelGroup = retry?.OriginalModelGroup ?? groupName,
                ModelGroup = groupName,
                DeploymentId = deploymentId,
                StatusCode = error?.StatusCode ?? 200,
                ErrorClass = error?.Class.ToString(),
                StartedAt = now - TimeSpan.FromMilliseconds(latencyMs),
                LatencyMs = latencyMs,
                Caller = caller,
            };

    /// <summary>Publishes <paramref name="attempt"/> on its own (an attempt with no usage event to travel in).</summary>
    public static Task PublishAsync(ConsumeContext context, InferenceAttempted? attempt)
    {
        ArgumentNullException.ThrowIfNull(context);
        return attempt is null ? Task.CompletedTask : context.Publish(attempt, CancellationToken.None);
    }

    /// <summary>
    /// The attempt to put in its usage event (<see cref="AttemptReporting.AttemptWithUsage"/>), or null once it has been
    /// published on its own.
    /// </summary>
    public static async Task<InferenceAttempted?> ForUsageAsync(ConsumeContext context, AttemptReporting reporting, InferenceAttempted? attempt)
    {
        ArgumentNullException.ThrowIfNull(reporting);
        if (reporting.AttemptWithUsage)
        {
            return attempt;
        }

        await PublishAsync(context, attempt);
        return null;
    }

    /// <summary>Creates the attempt's event and publishes it on its own.</summary>
    public static Task PublishAsync(
        ConsumeContext context, Guid requestId, ChatCompletionRetry? retry, string groupName, string? deploymentId, ProviderError? error,
        double latencyMs, bool healthCheck, Caller? caller, DateTimeOffset now) =>
        PublishAsync(context, Create(requestId, retry, groupName, deploymentId, error, latencyMs, healthCheck, caller, now));
}
