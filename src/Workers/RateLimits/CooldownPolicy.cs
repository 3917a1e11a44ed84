using Broker.Config.Model;
using Broker.Contracts.Inference;
using Broker.Workers.Providers;

namespace Broker.Workers.RateLimits;

/// <summary>
/// When a failing deployment is taken out of every pick (LiteLLM's rules). Counted failures: rate limits (429),
/// authentication (401), timeouts (408), not found (404) and server errors (5xx), plus any class that
/// allowed_fails_policy names. With allowed_fails or allowed_fails_policy: cooldown once a minute's failures
/// (of that class, when the policy names it) exceed the allowance. Without either: a 429 cools down at once, and more
/// than half of at least 5 requests in a minute failing does too; a group's only deployment is never cooled down
/// by these default rules. cooldown_time defaults to 5 s; disable_cooldowns turns it all off.
/// </summary>
public sealed class CooldownPolicy(RouterSettings settings)
{
    public static readonly TimeSpan DefaultCooldownTime = TimeSpan.FromSeconds(5);

    private const double DefaultFailureRate = 0.5;
    private const int DefaultMinimumRequests = 5;

    public bool Disabled => settings.DisableCooldowns;

    public TimeSpan CooldownTime => settings.CooldownTime is { } t && t > TimeSpan.Zero ? t : DefaultCooldownTime;

    /// <summary>The failure class to count for <paramref name="error"/>, or null when it says nothing about the deployment's health.</summary>
    public ProviderErrorClass? CountedClass(ProviderError? error)
    {
        if (error is null || Disabled || error.StatusCode == 499)
        {
            return null;
        }

        var byDefault = error.StatusCode is 429 or 401 or 408 or 404 or >= 500 ||
                        error.Class is ProviderErrorClass.RateLimit or ProviderErrorClass.Authentication or ProviderErrorClass.Timeout or ProviderErrorClass.InternalServerError;
        return byDefault || AllowedFor(error.Class) is not null ? error.Class : null;
    }

    /// <summary>True when the minute's counts after this failure call for a cooldown.</summary>
    public bool ShouldCoolDown(ProviderError error, FailureCounts counts, int deploymentsInGroup)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(counts);
        if (Disabled)
        {
            return false;
        }

        if (AllowedFor(error.Class) is { } classAllowance)
        {
            return counts.FailuresOfClass > classAllowance;
        }

        if (settings.AllowedFails is { } allowed)
        {
            return counts.Failures > allowed;
        }

        if (deploymentsInGroup <= 1)
        {
            return false;
        }

        if (error.StatusCode == 429 || error.Class == ProviderErrorClass.RateLimit)
        {
            return true;
        }

        var total = counts.Successes + counts.Failures;
        return total >= DefaultMinimumRequests && (double)counts.Failures / total > DefaultFailureRate;
    }

    private int? AllowedFor(ProviderErrorClass errorClass) => settings.AllowedFailsPolicy is not { } p ? null : errorClass switch
    {
        ProviderErrorClass.Authentication => p.AuthenticationErrorAllowedFails,
        ProviderErrorClass.Timeout => p.TimeoutErrorAllowedFails,
        ProviderErrorClass.RateLimit => p.RateLimitErrorAllowedFails,
        ProviderErrorClass.ContentPolicyViolation => p.ContentPolicyViolationErrorAllowedFails,
        ProviderErrorClass.InternalServerError => p.InternalServerErrorAllowedFails,
        ProviderErrorClass.BadRequest or ProviderErrorClass.ContextWindowExceeded => p.BadRequestErrorAllowedFails,
        _ => null,
    };
}
