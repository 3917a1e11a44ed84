using System.Globalization;
using Broker.Config.Model;
using Broker.Contracts.Inference;

namespace Broker.Workers.Retries;

/// <summary>
/// LiteLLM's retry and fallback rules as a pure function of the config, the request's own controls, where the
/// request stands and how the last attempt failed:
/// <list type="number">
/// <item>retry in the same group while the class has retries left: router_settings.retry_policy's count for the
/// class, else num_retries (the request's, else the config's) for rate limits, timeouts and server errors; auth, bad
/// request, not found, context window and content policy errors are not retried unless retry_policy says so;</item>
/// <item>then the next fallback group: context_window_fallbacks for a context-window error, content_policy_fallbacks
/// for a content-policy error, else fallbacks (the request's list replaces the config's), else default_fallbacks; at
/// most max_fallbacks groups; each fallback group gets its own retries;</item>
/// <item>else exhausted, with the last error and every attempt listed.</item>
/// </list>
/// A retry goes at once when the group has a deployment that has not failed this request yet (routing prefers it);
/// otherwise it waits Retry-After, else an exponential backoff (0.5 s doubling, at most 8 s). Nothing is planned past
/// the request's deadline, and no retry that would end past it if it took as long as the failed attempt.
/// </summary>
public static class RetryPlanner
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(8);
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    public static RetryDecision Decide(
        ProxyConfig config,
        RetryRequestOptions options,
        CreateChatCompletion failedCommand,
        InferenceFailed error,
        bool fallbackOnly,
        DateTimeOffset now,
        TimeSpan attemptDuration = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(failedCommand);
        ArgumentNullException.ThrowIfNull(error);
        var state = failedCommand.Retry ?? new ChatCompletionRetry { Attempt = 0, OriginalModelGroup = failedCommand.ModelGroup };
        var line = Describe(state.Attempt, failedCommand.ModelGroup, error);
        var failedState = state with { History = [.. state.History, line] };
        var group = config.ModelGroups.FirstOrDefault(g => g.Name == failedCommand.ModelGroup);
        if (failedCommand.Retry is null && failedCommand.DeploymentId is not null)
        {
            // a request pinned to one deployment (health probe) is about that deployment only
            return new RetryDecision { Next = failedState, FinalError = error };
        }

        // 1. retry in the same group
        var failedDeployment = error.DeploymentId is { } failedId ? group?.Deployments.FirstOrDefault(d => d.Id == failedId) : null;
        var retries = fallbackOnly || group is null ? 0 : RetriesFor(error.ErrorClass, config.RouterSettings, options, failedDeployment?.MaxRetries);
        if (failedState.RetriesInGroup < retries)
        {
            var avoid = error.DeploymentId is { } failed && !state.AvoidDeploymentIds.Contains(failed)
                ? [.. state.AvoidDeploymentIds, failed]
                : state.AvoidDeploymentIds;
            var delay = group!.Deployments.Any(d => !avoid.Contains(d.Id))
                ? TimeSpan.Zero
                : Backoff(error.RetryAfterSeconds, failedState.RetriesInGroup);
            // a retry is made only if one as long as the failed attempt still ends before the deadline
            if (now + delay + attemptDuration < failedCommand.Deadline)
            {
                return new RetryDecision
                {
                    Group = group,
                    RequestedModel = failedCommand.RequestedModel,
                    DeploymentId = failedCommand.DeploymentId,
                    Next = failedState with
                    {
                        Attempt = state.Attempt + 1,
                        RetriesInGroup = failedState.RetriesInGroup + 1,
                        AttemptedRetries = failedState.AttemptedRetries + 1,
                        AvoidDeploymentIds = avoid,
                        NotBefore = delay > TimeSpan.Zero ? now + delay : null,
                    },
                };
            }
        }

        // 2. the next fallback group
        var chain = failedState.FallbackChain ?? FallbackChain(config, options, state.OriginalModelGroup, error.ErrorClass);
        for (var next = failedState.AttemptedFallbacks; next < chain.Count && now < failedCommand.Deadline; next++)
        {
            var (target, pinned) = Resolve(config, chain[next]);
            if (target is null)
            {
                continue;
            }

            return new RetryDecision
            {
                Group = target,
                RequestedModel = target.IsWildcard ? chain[next] : target.Name,
                DeploymentId = pinned,
                IsFallback = true,
                Next = failedState with
                {
                    Attempt = state.Attempt + 1,
                    RetriesInGroup = 0,
                    AttemptedFallbacks = next + 1,
                    FallbackChain = chain,
                    AvoidDeploymentIds = [],
                    NotBefore = null,
                },
            };
        }

        // 3. exhausted
        return new RetryDecision
        {
            Next = failedState with { FallbackChain = chain },
            FinalError = state.Attempt == 0 ? error : error with
            {
                Message = $"{error.Message} (no retries or fallbacks left for model group '{state.OriginalModelGroup}' after " +
                          $"{failedState.History.Count} attempts: {string.Join("; ", failedState.History)})",
            },
        };
    }

    /// <summary>
    /// Retries allowed in one group for a failure class. <paramref name="deploymentMaxRetries"/> is the failed
    /// deployment's litellm_params.max_retries: for a class that is retried at all, it replaces num_retries (the
    /// config's and the request's) and retry_policy's count.
    /// </summary>
    public static int RetriesFor(ProviderErrorClass errorClass, RouterSettings settings, RetryRequestOptions options, int? deploymentMaxRetries = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        var policy = settings.RetryPolicy;
        var fromPolicy = errorClass switch
        {
            ProviderErrorClass.Authentication => policy?.AuthenticationErrorRetries,
            ProviderErrorClass.Timeout => policy?.TimeoutErrorRetries,
            ProviderErrorClass.RateLimit => policy?.RateLimitErrorRetries,
            ProviderErrorClass.ContentPolicyViolation => policy?.ContentPolicyViolationErrorRetries,
            ProviderErrorClass.InternalServerError => policy?.InternalServerErrorRetries,
            ProviderErrorClass.BadRequest => policy?.BadRequestErrorRetries,
            _ => null,
        };
        var retried = fromPolicy is not null ||
            errorClass is ProviderErrorClass.RateLimit or ProviderErrorClass.Timeout or ProviderErrorClass.InternalServerError;
        if (!retried)
        {
            return 0;
        }

        return Math.Max(0, deploymentMaxRetries ?? fromPolicy ?? options.NumRetries ?? settings.NumRetries);
    }

    /// <summary>The fallback groups for a failure of <paramref name="modelGroup"/>, in order, at most max_fallbacks.</summary>
    public static IReadOnlyList<string> FallbackChain(ProxyConfig config, RetryRequestOptions options, string modelGroup, ProviderErrorClass errorClass)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        var settings = config.RouterSettings;
        IReadOnlyList<string>? chain = errorClass switch
        {
            ProviderErrorClass.ContextWindowExceeded => options.ContextWindowFallbacks ?? RuleFor(settings.ContextWindowFallbacks, modelGroup),
            ProviderErrorClass.ContentPolicyViolation => options.ContentPolicyFallbacks ?? RuleFor(settings.ContentPolicyFallbacks, modelGroup),
            _ => null,
        };
        if (chain is null || chain.Count == 0)
        {
            chain = options.Fallbacks ?? RuleFor(settings.Fallbacks, modelGroup) ?? settings.DefaultFallbacks;
        }

        return chain
            .Where(g => !string.Equals(g, modelGroup, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .Take(Math.Max(0, settings.MaxFallbacks))
            .ToList();
    }

    /// <summary>A fallback target: a group, an alias or wildcard match, or a deployment id (pinned).</summary>
    public static (ModelGroup? Group, string? DeploymentId) Resolve(ProxyConfig config, string target)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.FindGroup(target) is { } group)
        {
            return (group, null);
        }

        foreach (var candidate in config.ModelGroups)
        {
            if (candidate.Deployments.FirstOrDefault(d => d.Id == target) is { } deployment)
            {
                return (candidate, deployment.Id);
            }
        }

        return (null, null);
    }

    /// <summary>LiteLLM's default request timeout, when router_settings.timeout is not set.</summary>
    public static readonly TimeSpan DefaultRequestTimeout = AttemptStep.DefaultRequestTimeout;

    /// <summary>Time a step is given beyond its provider call: the queue, routing, the answer's way back.</summary>
    public static readonly TimeSpan StepGrace = AttemptStep.Grace;

    /// <summary>When the saga gives up on an attempt that has neither answered nor reported (see <see cref="AttemptStep.DueAt"/>).</summary>
    public static DateTimeOffset StepDueAt(
        ProxyConfig config, ModelGroup group, string? deploymentId, bool stream, DateTimeOffset startsAt, DateTimeOffset deadline) =>
        AttemptStep.DueAt(config, group, deploymentId, stream, startsAt, deadline);

    /// <summary>True when a failed first attempt has anything left to try (else the worker answers at once, without the saga).</summary>
    public static bool CanContinue(
        ProxyConfig config, RetryRequestOptions options, CreateChatCompletion command, InferenceFailed error, bool fallbackOnly, DateTimeOffset now,
        TimeSpan attemptDuration = default) =>
        !Decide(config, options, command, error, fallbackOnly, now, attemptDuration).Exhausted;

    private static IReadOnlyList<string>? RuleFor(IReadOnlyList<FallbackRule> rules, string modelGroup) =>
        (rules.FirstOrDefault(r => r.ModelGroup == modelGroup) ?? rules.FirstOrDefault(r => r.ModelGroup == "*"))?.Fallbacks;

    private static TimeSpan Backoff(double? retryAfterSeconds, int retriesSoFar)
    {
        if (retryAfterSeconds is > 0 and var seconds)
        {
            return TimeSpan.FromSeconds(Math.Min(seconds, MaxRetryAfter.TotalSeconds));
        }

        var backoff = FirstBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(retriesSoFar, 10));
        return TimeSpan.FromMilliseconds(Math.Min(backoff, MaxBackoff.TotalMilliseconds));
    }

    private static string Describe(int attempt, string group, InferenceFailed error) =>
        string.Create(CultureInfo.InvariantCulture,
            $"#{attempt + 1} {group}/{error.DeploymentId ?? "-"}: {error.ErrorClass} {error.StatusCode}");
}
