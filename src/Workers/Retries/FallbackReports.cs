using Broker.Contracts.Alerts;
using Broker.Contracts.Inference;
using MassTransit;

namespace Broker.Workers.Retries;

/// <summary>
/// LiteLLM's <c>fallback_reports</c>: a request that moved to a fallback model group reports how it ended, answered by
/// the fallback (success) or failed after every fallback (failure). Delivered by Billing like every other alert.
/// </summary>
public static class FallbackReports
{
    public const string Kind = "fallback_reports";

    /// <summary>The report of a request whose <paramref name="retry"/> went to a fallback; nothing when none was tried.</summary>
    public static Task PublishAsync(
        IPublishEndpoint publisher, Guid requestId, ChatCompletionRetry? retry, string finalGroup, bool succeeded, string? errorClass, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        if (retry is not { AttemptedFallbacks: > 0 })
        {
            return Task.CompletedTask;
        }

        var outcome = succeeded ? "success" : "failure";
        var message = succeeded
            ? $"Fallback success: `{retry.OriginalModelGroup}` failed, `{finalGroup}` answered after {retry.AttemptedFallbacks} fallback(s)"
            : $"Fallback failure: `{retry.OriginalModelGroup}` and its {retry.AttemptedFallbacks} fallback(s) failed (last: `{finalGroup}`, {errorClass})";
        return publisher.Publish(new AlertRaised
        {
            Kind = Kind,
            DedupeKey = $"{Kind}:{requestId}:{outcome}",
            Level = succeeded ? "Low" : "Medium",
            Message = message,
            RaisedAt = now,
            Data = new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["request_id"] = requestId.ToString(),
                ["original_model_group"] = retry.OriginalModelGroup,
                ["fallback_model_group"] = finalGroup,
                ["fallback_chain"] = retry.FallbackChain is { } chain ? string.Join(",", chain) : null,
                ["attempted_fallbacks"] = retry.AttemptedFallbacks.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["outcome"] = outcome,
                ["error_class"] = errorClass,
            },
        }, CancellationToken.None);
    }
}
