namespace Broker.Ingress.Auth;

/// <summary>
/// The outcome of <see cref="RateLimiter.AcquireAsync"/>: allowed (release <see cref="Held"/> when the request ends) or
/// refused with LiteLLM's message; the x-ratelimit-* header values of the tightest scope either way.
/// </summary>
public sealed record RateLimitDecision(
    string? RefusedMessage,
    double RetryAfterSeconds,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<LimitScope> Held);
