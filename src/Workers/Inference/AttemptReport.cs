using Broker.Contracts.Identity;
using Broker.Contracts.Inference;
using Broker.Workers.Providers;
using MassTransit;

namespace Broker.Workers.Inference;

/// <summary>
/// Publishes <see cref="InferenceAttempted"/> after each attempt a consumer made (success or failure, first attempt,
/// retry or fallback), for Billing's attempt history. Health probes are not reported.
/// </summary>
public static class AttemptReport
{
    public static Task PublishAsync(
        ConsumeContext context, Guid requestId, ChatCompletionRetry? retry, string groupName, string? deploymentId, ProviderError? error,
        double latencyMs, bool healthCheck, Caller? caller, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (healthCheck)
        {
            return Task.CompletedTask;
        }

        return context.Publish(new InferenceAttempted
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
        }, CancellationToken.None);
    }
}
