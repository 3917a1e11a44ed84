namespace Broker.Ingress.Auth;

/// <summary>
/// The outcome of <see cref="RateLimiter.AcquireAsync"/>: allowed (release <see cref="Held"/> when the request ends) or
/// refused with LiteLLM's message; the x-ratelimit-* header values of the tightest scope either way. An allowed request
/// holds <see cref="ReservedTokens"/> in the tpm counters of <see cref="Minute"/> until it is settled.
/// </summary>
public sealed record RateLimitDecision(
    string? RefusedMessage,
    double RetryAfterSeconds,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyList<LimitScope> Held,
    long ReservedTokens = 0,
    long Minute = 0);
