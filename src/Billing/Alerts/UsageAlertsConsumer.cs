using System.Globalization;
using Broker.Contracts.Alerts;
using Broker.Contracts.Usage;
using MassTransit;

namespace Broker.Billing.Alerts;

/// <summary>
/// Turns finished requests into alerts: a failed request raises <c>llm_exceptions</c>, a request slower than
/// alerting_threshold raises <c>llm_too_slow</c>, and repeated timeouts or server errors raise <c>outage_alerts</c> and
/// <c>region_outage_alerts</c> (<see cref="OutageAlerts"/>). One alert per deployment and failure class per window (the
/// de-duplication key), so an outage sends one message, not one per request.
/// </summary>
public sealed class UsageAlertsConsumer(AlertingOptions options, OutageAlerts outages, TimeProvider timeProvider) : IConsumer<UsageRecorded>
{
    public async Task Consume(ConsumeContext<UsageRecorded> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var usage = context.Message;
        if (usage.CacheHit || usage.ErrorClass?.StartsWith("guardrail_", StringComparison.Ordinal) == true)
        {
            // no provider was called: a cache hit, or a request a guardrail refused before it was queued
            return;
        }

        if (!usage.Succeeded && options.IsOn(AlertKinds.LlmExceptions))
        {
            var errorClass = usage.ErrorClass ?? "Unknown";
            await context.Publish(new AlertRaised
            {
                Kind = AlertKinds.LlmExceptions,
                DedupeKey = $"{AlertKinds.LlmExceptions}:{usage.ModelGroup}:{usage.DeploymentId}:{errorClass}",
                Level = "High",
                Message = $"LLM API call failed: `{errorClass}`\nModel group: `{usage.ModelGroup}`\nDeployment: `{usage.DeploymentId}` ({usage.Provider})\nRequest: `{usage.RequestId}`",
                RaisedAt = timeProvider.GetUtcNow(),
                Data = Data(usage, ("error_class", errorClass)),
            }, context.CancellationToken);
        }

        if (usage.Succeeded && usage.LatencyMs > options.Threshold.TotalMilliseconds && options.IsOn(AlertKinds.LlmTooSlow))
        {
            var seconds = usage.LatencyMs / 1000;
            await context.Publish(new AlertRaised
            {
                Kind = AlertKinds.LlmTooSlow,
                DedupeKey = $"{AlertKinds.LlmTooSlow}:{usage.ModelGroup}:{usage.DeploymentId}",
                Level = "Low",
                Message = $"Responses are slow: {seconds.ToString("0.0", CultureInfo.InvariantCulture)} s (alerting_threshold {options.Threshold.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s)\nModel group: `{usage.ModelGroup}`\nDeployment: `{usage.DeploymentId}` ({usage.Provider})",
                RaisedAt = timeProvider.GetUtcNow(),
                Data = Data(usage, ("latency_seconds", seconds.ToString("0.###", CultureInfo.InvariantCulture))),
            }, context.CancellationToken);
        }

        // outage_alerts / region_outage_alerts: counted only on the first delivery, so a redelivery does not count twice
        if (context.GetRetryAttempt() == 0)
        {
            foreach (var outage in outages.Observe(usage))
            {
                await context.Publish(outage, context.CancellationToken);
            }
        }
    }

    private static Dictionary<string, string?> Data(UsageRecorded usage, (string Key, string Value) extra) => new(StringComparer.Ordinal)
    {
        ["model_group"] = usage.ModelGroup,
        ["deployment_id"] = usage.DeploymentId,
        ["provider"] = usage.Provider,
        ["request_id"] = usage.RequestId.ToString(),
        [extra.Key] = extra.Value,
    };
}
